"""SSD models ending in TFLite's built-in ``TFLite_Detection_PostProcess`` op."""

from __future__ import annotations

import numpy as np

from ...detections import Detections
from ...errors import ModelError
from ..families import HeadLayout, ModelFamily, layouts, register_family
from ..metadata import ModelMetadata
from .base import TensorInfo

NAME = "ssd"
POSTPROCESS_OP = "TFLite_Detection_PostProcess"


def looks_like_ssd(outputs: list[TensorInfo]) -> bool:
    if len(outputs) != 4:
        return False
    shapes = sorted(len(o.shape) for o in outputs)
    return shapes == [1, 2, 2, 3] and any(o.shape[-1] == 4 and len(o.shape) == 3 for o in outputs)


class SsdDecoder:
    """Reads the post-process op's four float outputs: boxes, classes, scores, count.

    Exports do not agree on output order (TF1 models list boxes, classes, scores, count; TF2 exports often
    scores, boxes, count, classes), so tensors are found by shape, and the two ``[1, N]`` tensors by name
    (``:1`` classes, ``:2`` scores) or, failing that, by content on the first frame: class ids are whole
    numbers (scores of a frame with detections are not), scores are sorted descending within [0, 1].
    """

    family = NAME

    def __init__(
        self, outputs: list[TensorInfo], input_hw: tuple[int, int], num_classes: int | None = None
    ) -> None:
        if not looks_like_ssd(outputs):
            others = [name for name in layouts() if name != NAME]
            raise ModelError(
                f"model.layout is '{NAME}' but the outputs are not the post-process op's four tensors: "
                + "; ".join(o.describe() for o in outputs),
                f"set model.layout to {', '.join(others[:-1])} or {others[-1]}",
            )
        self.input_h, self.input_w = input_hw
        self.num_classes = num_classes  # the post-process op's own option; the background is not counted
        position = {o.index: i for i, o in enumerate(outputs)}
        self._boxes = next(position[o.index] for o in outputs if len(o.shape) == 3)
        self._count = next(position[o.index] for o in outputs if len(o.shape) == 1)
        pair = [o for o in outputs if len(o.shape) == 2]
        self._classes: int | None = None
        self._scores: int | None = None
        by_suffix = {o.name.rsplit(":", 1)[-1]: position[o.index] for o in pair if ":" in o.name}
        if POSTPROCESS_OP in " ".join(o.name for o in outputs) and set(by_suffix) == {
            "1",
            "2",
        }:
            self._classes, self._scores = by_suffix["1"], by_suffix["2"]
        self._pair = [position[o.index] for o in pair]

    def _resolve_pair(self, arrays: list[np.ndarray]) -> tuple[int, int]:
        if self._classes is not None and self._scores is not None:
            return self._classes, self._scores
        a, b = self._pair

        def is_whole(values: np.ndarray) -> bool:
            return bool(np.all(values == np.round(values)))

        def is_class_ids(values: np.ndarray) -> bool:
            return is_whole(values) and bool(np.any(values >= 1))

        def is_scores(values: np.ndarray) -> bool:
            return bool(np.all((values >= 0) & (values <= 1))) and bool(np.all(np.diff(values) <= 0))

        va, vb = arrays[a].reshape(-1), arrays[b].reshape(-1)
        if is_whole(va) != is_whole(vb):
            # Class ids are always whole numbers; scores of a frame with detections are not (a frame of
            # class 0 only has no id >= 1, so this comes first).
            self._classes, self._scores = (a, b) if is_whole(va) else (b, a)
        elif (is_class_ids(va) and not is_class_ids(vb)) or (is_scores(vb) and not is_scores(va)):
            self._classes, self._scores = a, b
        elif (is_class_ids(vb) and not is_class_ids(va)) or (is_scores(va) and not is_scores(vb)):
            self._classes, self._scores = b, a
        else:
            # Undecidable on this frame (e.g. nothing detected); keep the TF1 order for now, decide later.
            return a, b
        return self._classes, self._scores

    def __call__(self, arrays: list[np.ndarray], conf: float, classes: np.ndarray | None) -> Detections:
        class_at, score_at = self._resolve_pair(arrays)
        count = int(np.asarray(arrays[self._count]).reshape(-1)[0])
        boxes = np.asarray(arrays[self._boxes], np.float32).reshape(-1, 4)
        count = max(0, min(count, boxes.shape[0]))
        scores = np.asarray(arrays[score_at], np.float32).reshape(-1)[:count]
        class_ids = np.asarray(arrays[class_at]).reshape(-1)[:count].astype(np.int32)
        keep = scores >= conf
        if classes is not None:
            keep &= np.isin(class_ids, classes)
        yx = np.clip(boxes[:count][keep], 0.0, 1.0)
        xyxy = yx[:, [1, 0, 3, 2]] * np.array(
            [self.input_w, self.input_h, self.input_w, self.input_h], np.float32
        )
        return Detections(xyxy.astype(np.float32), scores[keep], class_ids[keep])

    def describe(self) -> str:
        classes = f", {self.num_classes} classes" if self.num_classes is not None else ""
        return f"ssd ({POSTPROCESS_OP}: boxes ymin,xmin,ymax,xmax normalized{classes})"


def build_ssd_decoder(
    outputs: list[TensorInfo], input_hw: tuple[int, int], metadata: ModelMetadata, head: HeadLayout | None
) -> SsdDecoder:
    num_classes = metadata.custom_ops.get(POSTPROCESS_OP, {}).get("num_classes")
    return SsdDecoder(outputs, input_hw, num_classes if isinstance(num_classes, int) else None)


register_family(
    ModelFamily(
        name=NAME,
        description="SSD post-process outputs (TFLite_Detection_PostProcess)",
        decoder=build_ssd_decoder,
        recognizes=looks_like_ssd,
        mean=(127.5, 127.5, 127.5),  # [-1, 1]: the TF Object Detection API's preprocessing
        std=(127.5, 127.5, 127.5),
        # The TF OD API resizes without keeping the aspect ratio; its anchors are laid out for that.
        resize="stretch",
        precedence=10,  # four tensors of fixed shapes: nothing else looks like them
        gapped_ids=True,  # the TF OD API numbers COCO's 80 classes within 90 ids; labelmap.txt has ??? gaps
        # SSD MobileNet v1 scores people 0.4-0.8: the whole pipeline on TUD-Campus tracks best at 0.5 (MOTA
        # 0.602, against 0.538 at the YOLO-tuned 0.65; BENCHMARKS.md "Tracking").
        track_high_score=0.5,
    )
)
