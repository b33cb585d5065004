"""``edgecv convert``: arguments and the run function the top-level CLI hooks in as a subcommand."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from ..detect.families import AUTO, layouts
from ..errors import EdgecvError
from .layers import parse_layers
from .options import (
    DEFAULT_IOU,
    IO_TYPES,
    RANGE_METHODS,
    ConvertOptions,
    parse_input_size,
    parse_triple,
)

log = logging.getLogger("edgecv.convert")


def _input_size(text: str) -> tuple[int, int]:
    try:
        return parse_input_size(text)
    except EdgecvError as exc:  # argparse reports ArgumentTypeError as a usage error, exit 2
        raise argparse.ArgumentTypeError(str(exc)) from None


def _layers(text: str) -> tuple[str, ...]:
    try:
        return tuple(parse_layers(text))
    except EdgecvError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _triple(flag: str) -> Callable[[str], tuple[float, float, float]]:
    def parse(text: str) -> tuple[float, float, float]:
        try:
            return parse_triple(text, flag)
        except EdgecvError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        type=Path,
        help="YOLOv5 or Ultralytics (YOLOv8/11) .pt; Keras .keras/.h5/SavedModel dir; PyTorch .pt2 "
        "(torch.export) or state_dict + --model-factory",
    )
    parser.add_argument(
        "--calibration",
        metavar="DIR",
        type=Path,
        required=True,
        help="representative images (300+ recommended); some are held out for the drift report",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT.tflite", type=Path, required=True, help="int8 model to write"
    )
    parser.add_argument(
        "--input-size",
        metavar="H[xW]",
        type=_input_size,
        default=None,
        help="model input size; default: from the checkpoint",
    )
    parser.add_argument("--labels", metavar="FILE", type=Path, default=None, help="class names, one per line")
    parser.add_argument(
        "--layout",
        choices=layouts(),
        default=AUTO,
        help="detection head family; default: from the output shape",
    )
    parser.add_argument(
        "--io",
        choices=IO_TYPES,
        default="int8",
        help="input/output tensor type (default int8); uint8 adds an exact QUANTIZE op at each edge",
    )
    parser.add_argument(
        "--val-images",
        metavar="DIR",
        type=Path,
        default=None,
        help="images for the drift report; default: images held out of --calibration",
    )
    parser.add_argument(
        "--val-annotations",
        metavar="A",
        type=Path,
        default=None,
        help="COCO instances json or YOLO labels folder: adds mAP50-95 float vs int8 to the drift report",
    )
    parser.add_argument(
        "--max-map-drop",
        metavar="X",
        type=float,
        default=None,
        help="fail (exit 1, model still written) when int8 loses more than X mAP50-95 points",
    )
    parser.add_argument(
        "--iou",
        metavar="X",
        type=float,
        default=DEFAULT_IOU,
        help=f"NMS IoU threshold of both models in the drift report; set it to your detect.iou (default "
        f"{DEFAULT_IOU:g})",
    )
    parser.add_argument(
        "--model-factory",
        metavar="module:callable",
        default=None,
        help="builds the torch.nn.Module a state_dict CHECKPOINT belongs to",
    )
    parser.add_argument(
        "--color-order",
        choices=("rgb", "bgr"),
        default=None,
        help="channel order the model was trained on (rgb)",
    )
    parser.add_argument(
        "--mean",
        type=_triple("--mean"),
        default=None,
        help="input normalisation (pixel - mean) / std; one or three values (default 0)",
    )
    parser.add_argument(
        "--std",
        type=_triple("--std"),
        default=None,
        help="see --mean (default 255: [0, 1])",
    )
    parser.add_argument(
        "--resize",
        choices=("letterbox", "stretch"),
        default=None,
        help="how frames are fitted to the input (default letterbox; stretch for SSD)",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="let a .pt pickle's own code run (its framework must be importable) when edgecv cannot read "
        "it alone; unpickling runs code from the file: only for files you trust",
    )
    parser.add_argument(
        "--activation-ranges",
        choices=RANGE_METHODS,
        default="minmax",
        help="how int8 activation ranges are chosen from the calibration images (PyTorch): minmax "
        "(default: the extremes), percentile (99th of per-image extremes), ema (the quantizer's own); "
        "then the lower end of every sigmoid/SiLU input is raised to where the activation is flat",
    )
    parser.add_argument(
        "--int16-activations",
        metavar="LAYERS",
        type=_layers,
        default=(),
        help="PyTorch: int16 activations for these layers (comma-separated paths as the drift report lists "
        "them, e.g. 0,1,2): closer to float, but slower and not Edge TPU-compatible (default: none)",
    )
    parser.add_argument(
        "--keep-float",
        metavar="FILE",
        type=Path,
        default=None,
        help="also write the float32 .tflite the int8 model is compared against (to benchmark both)",
    )


def options_from(args: argparse.Namespace) -> ConvertOptions:
    return ConvertOptions(
        checkpoint=args.checkpoint,
        calibration=args.calibration,
        output=args.output,
        input_size=args.input_size,
        labels=args.labels,
        layout=args.layout,
        io=args.io,
        val_images=args.val_images,
        val_annotations=args.val_annotations,
        max_map_drop=args.max_map_drop,
        iou=args.iou,
        model_factory=args.model_factory,
        trust_checkpoint=args.trust_checkpoint,
        activation_ranges=args.activation_ranges,
        int16_activations=args.int16_activations,
        color_order=args.color_order,
        mean=args.mean,
        std=args.std,
        resize=args.resize,
    )


def run(args: argparse.Namespace) -> int:
    """0 when the model is full int8 and within the drift limits; 1 otherwise (the model is still written)."""
    from .converter import convert

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
    try:
        result = convert(options_from(args), keep_float=getattr(args, "keep_float", None))
    except EdgecvError as exc:
        print(f"edgecv convert: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(result.drift.table())
    verdict = "int8" if result.int8 else "NOT int8"
    if result.int8 and args.int16_activations:
        verdict = f"int8, int16 activations in {','.join(args.int16_activations)}"
    state = "ok" if result.passed else "FAILING"
    print(
        f"wrote {result.output} ({result.output.stat().st_size / 1024:.0f} KiB, {verdict}, {state}); "
        f"drift report {result.drift_path}"
    )
    return 0 if result.passed else 1


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m edgecv.convert.cli``) until the subcommand is wired into ``edgecv``."""
    parser = argparse.ArgumentParser(prog="edgecv convert", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
