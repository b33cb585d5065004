"""A loaded model with its preprocessing, decoder and NMS: frames in, :class:`Detections` out.

The three steps are separate methods so the run loop can put them on different threads: ``prepare`` on
the capture thread, ``infer`` on the inference thread (the only one touching the interpreter), ``finish``
on the post-processing thread. :meth:`detect` runs all three in sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..detections import Detections
from ..errors import ConfigError, InferenceError, LabelsError, ModelError
from ..labels import Labels, fit_error, load_labels
from .decode import Decoder, TensorInfo, build_decoder
from .families import default_resize, find, normalization
from .metadata import ModelMetadata, read_metadata
from .nms import nms
from .preprocess import InputSpec, Preprocessor, Transform
from .runtime import load_interpreter


@dataclass
class DetectParams:
    conf: float = 0.25
    iou: float = 0.45
    max_detections: int = 300
    agnostic: bool = False
    classes: np.ndarray | None = None  # allowlist of class ids
    class_iou: dict[int, float] = field(default_factory=dict)


def resolve_class_filters(
    labels: Labels, classes: Sequence[str | int] | None, class_iou: Mapping[str, float] | None
) -> tuple[np.ndarray | None, dict[int, float]]:
    """Class names or ids from config → ids, with an error listing the known names for a typo."""

    def to_id(item: str | int, key: str) -> int:
        if isinstance(item, int) or (isinstance(item, str) and item.strip().isdigit()):
            return int(item)
        class_id = labels.id_of(item)
        if class_id is None:
            known = ", ".join(n for n in labels.names if n)[:300] or "none: the model has no labels"
            raise ConfigError(f"{key}: unknown class {item!r}", f"known classes: {known}")
        return class_id

    allow = None
    if classes:
        allow = np.array(sorted({to_id(c, "detect.classes") for c in classes}), dtype=np.int64)
    per_class = {to_id(k, "detect.class_iou"): float(v) for k, v in (class_iou or {}).items()}
    return allow, per_class


class Detector:
    def __init__(
        self,
        model_path: str | Path,
        *,
        labels: str | Path | Labels | None = None,
        threads: int | None = None,
        edgetpu: str | None = None,
        layout: str = "auto",
        resize: str = "auto",
        params: DetectParams | None = None,
        interpreter: Any = None,
        check_labels: bool = True,
    ) -> None:
        """``check_labels``: raise :class:`LabelsError` when the names do not fit the model's classes
        (``edgecv check --model`` turns it off to describe the model and report the misfit as a row)."""
        self.model_path = Path(model_path)
        self.interpreter = interpreter or load_interpreter(model_path, threads=threads, edgetpu=edgetpu)
        self.metadata: ModelMetadata = read_metadata(self.model_path)
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1 or len(inputs[0]["shape"]) != 4 or inputs[0]["shape"][-1] != 3:
            found = "; ".join(f"{d['name']} {list(d['shape'])}" for d in inputs)
            raise ModelError(
                f"expected one image input [1, H, W, 3], found {found}",
                "edgecv runs single-image NHWC detectors; export with channels-last input",
            )
        self.input = TensorInfo.from_details(inputs[0])
        self.input_hw = (self.input.shape[1], self.input.shape[2])
        self.outputs = [TensorInfo.from_details(d) for d in self.interpreter.get_output_details()]
        if isinstance(labels, Labels):
            self.labels = labels
        elif labels is not None:
            self.labels = load_labels(labels)
        else:
            self.labels = Labels(self.metadata.names or (), origin=f"the metadata of {self.model_path.name}")
        self.decoder: Decoder = build_decoder(
            self.outputs, self.input_hw, self.metadata, layout, len(self.labels) or None
        )
        if check_labels and (error := self.labels_fit()) is not None:
            raise error
        self.params = params or DetectParams()
        self.preprocessor = Preprocessor(self._input_spec(resize))
        self._input_index = self.input.index
        self._output_indices = [o.index for o in self.outputs]

    def _input_spec(self, resize: str) -> InputSpec:
        meta = self.metadata
        family = self.decoder.family
        mean, std = normalization(family)
        if meta.input_mean is not None and meta.input_std is not None:
            mean, std = tuple(meta.input_mean), tuple(meta.input_std)  # type: ignore[assignment]
        if resize == "auto":
            resize = meta.resize or default_resize(family)
        return InputSpec(
            height=self.input_hw[0],
            width=self.input_hw[1],
            dtype=self.input.dtype,
            scale=self.input.scale,
            zero_point=self.input.zero_point,
            mean=mean,
            std=std,
            resize=resize,  # type: ignore[arg-type]
            rgb=(meta.color_order or "rgb") == "rgb",
        )

    def labels_fit(self) -> LabelsError | None:
        """Why the labels cannot name this model's classes (the error to raise), or ``None`` when they fit."""
        family = find(self.decoder.family)
        gapped = family.gapped_ids if family is not None else False
        return fit_error(self.labels, self.decoder.num_classes, self.decoder.family, gapped)

    def set_filters(self, classes: Sequence[str | int] | None, class_iou: Mapping[str, float] | None) -> None:
        self.params.classes, self.params.class_iou = resolve_class_filters(self.labels, classes, class_iou)

    # -- the three stages -------------------------------------------------------------------------------

    def prepare(self, frame: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, Transform]:
        return self.preprocessor(frame, out)

    def infer(self, tensor: np.ndarray) -> list[np.ndarray]:
        self.interpreter.set_tensor(self._input_index, tensor)
        try:
            self.interpreter.invoke()
        except (RuntimeError, ValueError) as exc:
            # The model loaded, so the file is not the problem: a kernel failed on this input (exit 1).
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InferenceError(
                f"the runtime failed inside invoke() on {self.model_path.name}: {first_line}",
                "the model loads but one of its ops fails on real input: re-export it, or try another runtime version",
            ) from None
        return [self.interpreter.get_tensor(i) for i in self._output_indices]

    def finish(
        self, outputs: list[np.ndarray], transform: Transform, params: DetectParams | None = None
    ) -> Detections:
        """Decode, suppress and map back to source pixels; ``params`` (one camera's own) default to the
        detector's."""
        p = params or self.params
        candidates = self.decoder(outputs, p.conf, p.classes)
        kept = nms(
            candidates, p.iou, agnostic=p.agnostic, class_iou=p.class_iou, max_detections=p.max_detections
        )
        return kept.with_boxes(transform.unmap(kept.boxes))

    def detect(self, frame: np.ndarray) -> Detections:
        tensor, transform = self.prepare(frame)
        return self.finish(self.infer(tensor), transform)

    def describe(self) -> dict[str, Any]:
        spec = self.preprocessor.spec
        return {
            "model": str(self.model_path),
            "inputs": [self.input.describe()],
            "outputs": [o.describe() for o in self.outputs],
            "family": self.decoder.family,
            "layout": self.decoder.describe(),
            "preprocess": f"{spec.resize}, {'RGB' if spec.rgb else 'BGR'}, (pixel - {spec.mean[0]:g}) / {spec.std[0]:g}",
            "labels": f"{len(self.labels)} names ({self.labels.origin})" if self.labels else "none",
            "metadata": self.metadata.producer or "none",
        }
