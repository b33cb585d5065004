"""Everything one conversion needs, as given on the command line or by a caller."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..detect.families import AUTO, layouts
from ..errors import ConfigError

IO_TYPES = ("int8", "uint8")
# --activation-ranges choices, the default first; edgecv.convert.ranges implements them.
RANGE_METHODS = ("minmax", "percentile", "ema")
DEFAULT_IOU = 0.45  # detect.iou's default: the drift report scores what a default run would keep


@dataclass
class ConvertOptions:
    checkpoint: Path
    calibration: Path
    output: Path
    input_size: tuple[int, int] | None = None  # (height, width); None: from the checkpoint
    labels: Path | None = None
    layout: str = AUTO  # or a model family: edgecv.detect.families
    io: str = "int8"
    val_images: Path | None = None
    val_annotations: Path | None = None
    max_map_drop: float | None = None
    iou: float = DEFAULT_IOU  # NMS IoU of both models in the drift report, as detect.iou in a run
    model_factory: str | None = None
    trust_checkpoint: bool = False  # let a pickle's own code run when edgecv cannot read it alone
    activation_ranges: str = RANGE_METHODS[0]  # how int8 ranges are chosen: edgecv.convert.ranges
    int16_activations: tuple[str, ...] = ()  # layer paths (edgecv.convert.layers) with int16 activations
    color_order: str | None = None  # None: from the checkpoint's metadata, else "rgb"
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    resize: str | None = None  # None: the family's own (letterbox for YOLO, stretch for SSD)
    holdout: int = 32  # images kept out of calibration for the drift report when --val-images is absent
    max_calibration: int = 500  # more adds time, not accuracy: activation ranges settle after a few hundred

    def __post_init__(self) -> None:
        if self.layout not in layouts():
            raise ConfigError(f"--layout {self.layout!r} is not known", f"use one of: {', '.join(layouts())}")
        if self.io not in IO_TYPES:
            raise ConfigError(f"--io {self.io!r} is not known", f"use one of: {', '.join(IO_TYPES)}")
        if not 0 < self.iou <= 1:
            raise ConfigError(
                f"--iou must be in (0, 1], got {self.iou:g}", "the NMS IoU threshold, e.g. 0.45"
            )
        if self.activation_ranges not in RANGE_METHODS:
            raise ConfigError(
                f"--activation-ranges {self.activation_ranges!r} is not known",
                f"use one of: {', '.join(RANGE_METHODS)}",
            )
        if self.max_map_drop is not None and self.val_annotations is None:
            raise ConfigError(
                "--max-map-drop needs --val-annotations",
                "give a COCO json or a YOLO labels folder to score on",
            )


def parse_input_size(text: str) -> tuple[int, int]:
    """``320`` or ``256x320`` (height x width) → (height, width)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values, default=0) <= 0:
        raise ConfigError(
            f"--input-size {text!r} is not a size", "give H or HxW in pixels, e.g. 320 or 256x320"
        )
    return (values[0], values[-1])


def parse_triple(text: str, flag: str) -> tuple[float, float, float]:
    """``127.5`` or ``123.7,116.3,103.5`` → three per-channel values."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise ConfigError(f"{flag} {text!r} is not one or three numbers", "e.g. 0 or 123.7,116.3,103.5")
    return (values[0], values[1], values[2])
