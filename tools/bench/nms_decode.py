"""Decode + NMS of the real YOLOv8n int8 head: edgecv against a float decode + OpenCV ``NMSBoxesBatched``.

The raw head outputs are captured by running the shared model over a few shared COCO photographs, then
both post-processors run on exactly those arrays, interleaved, in the same process:

* **edgecv**: :class:`~edgecv.detect.decode.yolo.YoloDecoder` (threshold in the quantized domain, only the
  surviving anchors dequantized) then :func:`edgecv.detect.nms.nms` (class-aware);
* **peer**: the usual float decode (dequantize the whole tensor, transpose, max/argmax over classes,
  threshold, xywh → xyxy) then ``cv2.dnn.NMSBoxesBatched`` (class-aware).

Prints ms per frame for both, the ratio peer/edgecv, and whether the same boxes were kept. Run from the
repository root::

    .venv/bin/python tools/bench/nms_decode.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from edgecv.detect.detector import Detector  # noqa: E402
from edgecv.detect.nms import nms  # noqa: E402

MODEL = "models/yolov8n_int8/yolov8n_full_integer_quant.tflite"


def capture_heads(assets: Path, frames: int) -> tuple[Detector, list[np.ndarray]]:
    detector = Detector(assets / MODEL, threads=1)
    images = sorted((assets / "coco_val2017/images").glob("*.jpg"))[:frames]
    heads = []
    for path in images:
        tensor, _ = detector.prepare(cv2.imread(str(path)))
        heads.append(detector.infer(tensor)[0].copy())
    return detector, heads


def edgecv_post(detector: Detector, head: np.ndarray, conf: float, iou: float):
    return nms(detector.decoder([head], conf, None), iou, max_detections=300)


def peer_post(
    head: np.ndarray, scale: float, zero_point: int, size: tuple[int, int], conf: float, iou: float
):
    pred = ((head[0].astype(np.float32) - zero_point) * np.float32(scale)).T  # [8400, 84]
    class_scores = pred[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores.max(axis=1)
    mask = scores >= conf
    xywh = pred[mask, :4] * np.array([size[1], size[0], size[1], size[0]], np.float32)
    boxes = np.empty_like(xywh)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    rects = np.concatenate([boxes[:, :2], xywh[:, 2:]], axis=1)  # x, y, w, h for OpenCV
    keep = cv2.dnn.NMSBoxesBatched(rects, scores[mask], class_ids[mask].astype(np.int32), conf, iou)
    keep = np.asarray(keep, np.int64).reshape(-1)
    return boxes[keep], scores[mask][keep], class_ids[mask][keep]


def as_set(boxes: np.ndarray, class_ids: np.ndarray) -> set[tuple]:
    return {(int(c), *np.round(b, 1).tolist()) for b, c in zip(boxes, class_ids, strict=True)}


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=Path, default=REPO_ROOT.parent / "shared" / "assets")
    parser.add_argument("--frames", type=int, default=8, help="photographs whose raw heads are captured")
    parser.add_argument("--repeat", type=int, default=500, help="timed runs per frame and post-processor")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.45)
    args = parser.parse_args()
    if not (args.assets / MODEL).exists():
        print(f"{args.assets / MODEL} not found: pass --assets", file=sys.stderr)
        return 2
    detector, heads = capture_heads(args.assets, args.frames)
    out = detector.outputs[0]
    size = detector.input_hw

    same = True
    kept_counts = []
    for head in heads:
        ours = edgecv_post(detector, head, args.conf, args.iou)
        boxes, _, class_ids = peer_post(head, out.scale, out.zero_point, size, args.conf, args.iou)
        kept_counts.append(len(ours))
        if as_set(ours.boxes, ours.class_ids) != as_set(boxes, class_ids):
            same = False

    ours_ms: list[float] = []
    peer_ms: list[float] = []
    for _ in range(3):  # interleave, so drift in clock or load hits both alike
        for head in heads:
            ours_ms += timed(lambda h=head: edgecv_post(detector, h, args.conf, args.iou), args.repeat // 3)
            peer_ms += timed(
                lambda h=head: peer_post(h, out.scale, out.zero_point, size, args.conf, args.iou),
                args.repeat // 3,
            )
    ours_med, peer_med = statistics.median(ours_ms), statistics.median(peer_ms)
    print(f"head {list(out.shape)} {out.dtype.name}, {len(heads)} frames, conf {args.conf}, iou {args.iou}")
    print(f"kept per frame: {kept_counts}")
    print(f"edgecv decode+nms : {ours_med:.3f} ms/frame (median; mean {statistics.fmean(ours_ms):.3f})")
    print(
        f"peer float+NMSBoxesBatched: {peer_med:.3f} ms/frame (median; mean {statistics.fmean(peer_ms):.3f})"
    )
    print(f"ratio peer/edgecv: {peer_med / ours_med:.2f}x")
    print(f"same boxes kept: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
