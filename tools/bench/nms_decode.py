"""Decode + NMS of the real YOLOv8n int8 head: edgecv against a float decode + OpenCV ``NMSBoxesBatched``.

The raw head outputs are captured by running the shared model over a few shared COCO photographs, then
both post-processors run on exactly those arrays, interleaved, in the same process:

* **edgecv**: :class:`~edgecv.detect.decode.yolo.YoloDecoder` (threshold in the quantized domain, only the
  surviving anchors dequantized) then :func:`edgecv.detect.nms.nms` (class-aware);
* **peer**: the usual float decode (dequantize the whole tensor, transpose, max/argmax over classes,
  threshold, xywh → xyxy) then ``cv2.dnn.NMSBoxesBatched`` (class-aware).

* **supervision peer**: the same float decode then roboflow supervision's class-aware
  ``box_non_max_suppression`` (what ``sv.Detections.with_nms`` runs). supervision needs opencv-python, which
  conflicts with edgecv's opencv-python-headless, so it runs in its own virtual environment,
  ``.venv-peer-supervision`` (created here on first use), on the same raw heads saved to a temporary folder;
  its timing chunks alternate with the in-process ones.

Prints ms per frame for each, the ratio peer/edgecv, and whether the same boxes were kept. Run from the
repository root::

    .venv/bin/python tools/bench/nms_decode.py [--no-supervision]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from peers import ensure_venv, float_decode  # noqa: E402

from edgecv.detect.detector import Detector  # noqa: E402
from edgecv.detect.nms import nms  # noqa: E402

MODEL = "models/yolov8n_int8/yolov8n_full_integer_quant.tflite"
SV_VENV = REPO_ROOT / ".venv-peer-supervision"
SV_PACKAGES = ["supervision==0.31.2"]

# Runs in SV_VENV: argv = folder with heads.npy and params.json, repeat count. Prints JSON on its last line.
SV_SCRIPT = r"""
import json, sys, time
from pathlib import Path
import numpy as np
import supervision as sv

folder, repeat = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3])  # tools/bench: the shared float decode, numpy only
from peers import float_decode
heads = np.load(folder / "heads.npy")
p = json.loads((folder / "params.json").read_text())
scale, zero_point, size, conf, iou = p["scale"], p["zero_point"], p["size"], p["conf"], p["iou"]

def post(head):
    # The same float decode as the OpenCV peer, then supervision's class-aware NMS.
    boxes, _, scores, class_ids = float_decode(head, scale, zero_point, size, conf)
    keep = sv.box_non_max_suppression(np.column_stack([boxes, scores, class_ids]), iou_threshold=iou)
    return boxes[keep], scores[keep], class_ids[keep]

kept = []
for head in heads:
    boxes, scores, class_ids = post(head)
    kept.append([[int(c), *np.round(b, 1).tolist(), float(s)] for b, s, c in zip(boxes, scores, class_ids)])
ms = []
for head in heads:
    for _ in range(repeat):
        start = time.perf_counter_ns()
        post(head)
        ms.append((time.perf_counter_ns() - start) / 1e6)
print(json.dumps({"ms": ms, "kept": kept, "version": sv.__version__}))
"""


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
    boxes, xywh, scores, class_ids = float_decode(head, scale, zero_point, size, conf)
    rects = np.concatenate([boxes[:, :2], xywh[:, 2:]], axis=1)  # x, y, w, h for OpenCV
    keep = cv2.dnn.NMSBoxesBatched(rects, scores, class_ids.astype(np.int32), conf, iou)
    keep = np.asarray(keep, np.int64).reshape(-1)
    return boxes[keep], scores[keep], class_ids[keep]


def as_set(boxes: np.ndarray, class_ids: np.ndarray) -> set[tuple]:
    return {(int(c), *np.round(b, 1).tolist()) for b, c in zip(boxes, class_ids, strict=True)}


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def sv_python() -> Path:
    return ensure_venv(SV_VENV, SV_PACKAGES)


def run_sv(python: Path, folder: Path, repeat: int) -> dict:
    done = subprocess.run(
        [str(python), "-c", SV_SCRIPT, str(folder), str(repeat), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"supervision peer in {python} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=Path, default=REPO_ROOT.parent / "shared" / "assets")
    parser.add_argument("--frames", type=int, default=8, help="photographs whose raw heads are captured")
    parser.add_argument("--repeat", type=int, default=500, help="timed runs per frame and post-processor")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.45)
    parser.add_argument("--no-supervision", action="store_true", help="skip the supervision peer")
    args = parser.parse_args()
    if not (args.assets / MODEL).exists():
        print(f"{args.assets / MODEL} not found: pass --assets", file=sys.stderr)
        return 2
    detector, heads = capture_heads(args.assets, args.frames)
    out = detector.outputs[0]
    size = detector.input_hw

    same = True
    kept_counts = []
    ours_sets, ours_scores = [], []
    for head in heads:
        ours = edgecv_post(detector, head, args.conf, args.iou)
        boxes, _, class_ids = peer_post(head, out.scale, out.zero_point, size, args.conf, args.iou)
        kept_counts.append(len(ours))
        ours_sets.append(as_set(ours.boxes, ours.class_ids))
        ours_scores.append(
            sorted((int(c), round(float(x), 4)) for c, x in zip(ours.class_ids, ours.scores, strict=True))
        )
        if ours_sets[-1] != as_set(boxes, class_ids):
            same = False

    sv_py = None if args.no_supervision else sv_python()
    ours_ms: list[float] = []
    peer_ms: list[float] = []
    sv_ms: list[float] = []
    sv_kept: list | None = None
    sv_version = ""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "heads.npy", np.stack(heads))
        params = {"scale": float(out.scale), "zero_point": int(out.zero_point), "size": list(size)}
        (folder / "params.json").write_text(json.dumps(params | {"conf": args.conf, "iou": args.iou}))
        for _ in range(3):  # interleave, so drift in clock or load hits all alike
            for head in heads:
                ours_ms += timed(
                    lambda h=head: edgecv_post(detector, h, args.conf, args.iou), args.repeat // 3
                )
                peer_ms += timed(
                    lambda h=head: peer_post(h, out.scale, out.zero_point, size, args.conf, args.iou),
                    args.repeat // 3,
                )
            if sv_py is not None:
                result = run_sv(sv_py, folder, args.repeat // 3)
                sv_ms += result["ms"]
                sv_kept, sv_version = result["kept"], result["version"]
    # supervision orders equal scores differently (int8 heads give many exact ties): where a kept box
    # differs, check that the kept (class, score) lists still agree, i.e. it is the other of a tie.
    sv_differ = sv_total = 0
    sv_ties_only = True
    for kept, ours, scores in zip(sv_kept or [], ours_sets, ours_scores, strict=False):
        theirs = {tuple(k[:5]) for k in kept}
        sv_total += len(theirs)
        sv_differ += len(theirs - ours)
        sv_ties_only &= sorted((k[0], round(k[5], 4)) for k in kept) == scores
    sv_same = sv_kept is not None and sv_differ == 0
    ours_med, peer_med = statistics.median(ours_ms), statistics.median(peer_ms)
    print(f"head {list(out.shape)} {out.dtype.name}, {len(heads)} frames, conf {args.conf}, iou {args.iou}")
    print(f"kept per frame: {kept_counts}")
    print(f"edgecv decode+nms : {ours_med:.3f} ms/frame (median; mean {statistics.fmean(ours_ms):.3f})")
    print(
        f"peer float+NMSBoxesBatched: {peer_med:.3f} ms/frame (median; mean {statistics.fmean(peer_ms):.3f})"
    )
    print(f"ratio peer/edgecv: {peer_med / ours_med:.2f}x")
    print(f"same boxes kept: {'yes' if same else 'NO'}")
    if sv_ms:
        sv_med = statistics.median(sv_ms)
        print(
            f"peer float+supervision {sv_version} box_non_max_suppression: {sv_med:.3f} ms/frame "
            f"(median; mean {statistics.fmean(sv_ms):.3f})"
        )
        print(f"ratio supervision/edgecv: {sv_med / ours_med:.2f}x")
        if sv_same:
            verdict = "yes"
        elif sv_ties_only:
            verdict = (
                f"yes up to ties ({sv_differ} of {sv_total} kept boxes are the other of two equal scores)"
            )
        else:
            verdict = f"NO ({sv_differ} of {sv_total} kept boxes differ)"
        print(f"same boxes kept (supervision): {verdict}")
    return 0 if same and (sv_py is None or sv_same or sv_ties_only) else 1


if __name__ == "__main__":
    sys.exit(main())
