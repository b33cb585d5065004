"""What quantization cost: float vs int8 outputs on held-out images, and mAP when ground truth is given.

Both models run through :class:`edgecv.detect.detector.Detector`, so the comparison includes the device's
own preprocessing, decoding and NMS: the mAP figures are the ones ``edgecv run`` would reach.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..detect.decode import TensorInfo
from ..detect.detector import Detector, DetectParams
from .calibration import read_image
from .layer_drift import LayerDrift, table_lines
from .options import DEFAULT_IOU

EVAL_CONF = 0.001  # mAP integrates over the whole precision-recall curve: keep low-score boxes
MIN_COSINE = 0.99  # below this an output has visibly changed; detections move or vanish


@dataclass
class OutputDrift:
    name: str
    cosine: float
    max_abs_error: float


@dataclass
class DriftReport:
    outputs: list[OutputDrift]
    map_float: float | None = None
    map_int8: float | None = None
    map_drop: float | None = None
    images: int = 0
    max_map_drop: float | None = None
    iou: float = DEFAULT_IOU  # the NMS IoU both models ran with
    passed: bool = True
    problems: list[str] = field(default_factory=list)
    layers: list[LayerDrift] = field(
        default_factory=list
    )  # per layer and sensitive op: edgecv.convert.layer_drift

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    def table(self) -> str:
        width = max([len(o.name) for o in self.outputs] + [6])
        lines = [f"{'output':<{width}}  {'cosine':>8}  {'max abs error':>13}"]
        lines += [f"{o.name:<{width}}  {o.cosine:>8.5f}  {o.max_abs_error:>13.5g}" for o in self.outputs]
        if self.map_float is not None and self.map_int8 is not None and self.map_drop is not None:
            lines.append(
                f"mAP50-95 float {self.map_float:.4f}  int8 {self.map_int8:.4f}  "
                f"drop {100 * self.map_drop:.2f} points ({self.images} images, NMS IoU {self.iou:g})"
            )
        lines += table_lines(self.layers)
        lines += [f"FAIL: {p}" for p in self.problems]
        return "\n".join(lines)


def _dequantize(array: np.ndarray, info: TensorInfo) -> np.ndarray:
    if not info.quantized:
        return array.astype(np.float64)
    return (array.astype(np.float64) - info.zero_point) * info.scale


def _pair_outputs(reference: Detector, candidate: Detector) -> list[tuple[TensorInfo, TensorInfo]]:
    """Outputs by name when both models name them alike, else by position (same graph, same order)."""
    by_name = {o.name: o for o in candidate.outputs}
    if all(o.name in by_name for o in reference.outputs):
        return [(o, by_name[o.name]) for o in reference.outputs]
    return list(zip(reference.outputs, candidate.outputs, strict=True))


def measure(
    float_model: Path,
    int8_model: Path,
    images: Sequence[Path],
    annotations: dict[str, Any] | None = None,
    max_map_drop: float | None = None,
    iou: float = DEFAULT_IOU,
) -> DriftReport:
    """Run both models on ``images``; score mAP against ``annotations`` (a COCO dict) when given.

    ``iou`` is the NMS threshold of both (``--iou``): the mAP figures are those of a run with that
    ``detect.iou``. A lower one suppresses more overlapping boxes (crowds lose people), a higher one keeps
    more duplicates (precision falls); quantization can move either.
    """
    from tqdm import tqdm

    reference = Detector(
        float_model, threads=1, params=DetectParams(conf=EVAL_CONF, iou=iou, max_detections=300)
    )
    candidate = Detector(
        int8_model, threads=1, params=DetectParams(conf=EVAL_CONF, iou=iou, max_detections=300)
    )
    pairs = _pair_outputs(reference, candidate)
    dots = np.zeros(len(pairs))
    norms = np.zeros((len(pairs), 2))
    max_err = np.zeros(len(pairs))
    results: dict[str, list[dict[str, Any]]] = {"float": [], "int8": []}
    used = 0
    for path in tqdm(list(images), desc="validation", unit="img", leave=False):
        image = read_image(path)
        if image is None:
            continue
        used += 1
        for key, detector in (("float", reference), ("int8", candidate)):
            tensor, transform = detector.prepare(image)
            raw = detector.infer(tensor)
            if key == "float":
                ref_raw = raw
            else:
                for k, (ref_info, cand_info) in enumerate(pairs):
                    a = _dequantize(ref_raw[reference.outputs.index(ref_info)], ref_info).ravel()
                    b = _dequantize(raw[candidate.outputs.index(cand_info)], cand_info).ravel()
                    dots[k] += float(a @ b)
                    norms[k] += (float(a @ a), float(b @ b))
                    max_err[k] = max(max_err[k], float(np.abs(a - b).max(initial=0.0)))
            if annotations is not None:
                results[key].append(_as_result(path, detector, detector.finish(raw, transform)))
    outputs = [
        OutputDrift(ref.name or f"output_{k}", _cosine(dots[k], norms[k]), float(max_err[k]))
        for k, (ref, _) in enumerate(pairs)
    ]
    report = DriftReport(outputs=outputs, images=used, max_map_drop=max_map_drop, iou=iou)
    for o in outputs:
        if o.cosine < MIN_COSINE:
            report.problems.append(f"output {o.name} cosine {o.cosine:.4f} < {MIN_COSINE}")
    if annotations is not None:
        report.map_float = _score(results["float"], annotations)
        report.map_int8 = _score(results["int8"], annotations)
        report.map_drop = report.map_float - report.map_int8
        if max_map_drop is not None and 100 * report.map_drop > max_map_drop:
            report.problems.append(
                f"mAP50-95 dropped {100 * report.map_drop:.2f} points > --max-map-drop {max_map_drop:g}"
            )
    report.passed = not report.problems
    return report


def _cosine(dot: float, norms: np.ndarray) -> float:
    denominator = float(np.sqrt(norms[0] * norms[1]))
    if denominator == 0.0:
        return 1.0 if norms[0] == norms[1] else 0.0
    return dot / denominator


def _as_result(path: Path, detector: Detector, detections: Any) -> dict[str, Any]:
    names = detector.labels.names_for(detections.class_ids)
    return {
        "image": str(path),
        "detections": [
            {"label": name, "class_id": int(c), "score": float(s), "box": [float(v) for v in box]}
            for name, c, s, box in zip(
                names, detections.class_ids, detections.scores, detections.boxes, strict=True
            )
        ],
    }


def _score(results: list[dict[str, Any]], annotations: dict[str, Any]) -> float:
    from ..evaluate.coco import coco_map

    # coco_map reads instances.json from a path; a temporary file keeps one scorer for COCO and YOLO truth.
    with tempfile.TemporaryDirectory() as tmp:
        instances = Path(tmp) / "instances.json"
        instances.write_text(json.dumps(annotations))
        return float(coco_map(results, instances)["map50_95"])
