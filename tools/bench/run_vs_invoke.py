"""`edgecv run` FPS and peak RSS against the model's bare invoke() and a serial read-resize-invoke loop.

Peers, each in its own process, same model, same clip, same interpreter thread count:
  * invoke: the model's bare ``invoke()`` rate on a fixed input (the ceiling);
  * serial: the loop most TFLite examples use: read a frame, resize, quantize, invoke, decode nothing;
  * edgecv: ``edgecv run --summary-json`` on the whole clip, JSON lines written to /dev/null.

    python tools/bench/run_vs_invoke.py [--model M] [--video V] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO.parent / "shared" / "assets"
DEFAULT_MODEL = ASSETS / "models" / "yolov8n_int8" / "yolov8n_full_integer_quant.tflite"
DEFAULT_VIDEO = ASSETS / "video" / "vtest.mp4"

PEER = r"""
import json, resource, sys, time
import cv2, numpy as np
from ai_edge_litert.interpreter import Interpreter
mode, model, video, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
it = Interpreter(model_path=model, num_threads=threads); it.allocate_tensors()
inp = it.get_input_details()[0]; out = it.get_output_details()[0]
h, w = inp["shape"][1:3]
scale, zp = inp["quantization"]
frames = 0
if mode == "invoke":
    it.set_tensor(inp["index"], np.zeros(inp["shape"], inp["dtype"]))
    it.invoke()
    n = int(sys.argv[5]); t = time.perf_counter()
    for _ in range(n):
        it.invoke()
    elapsed = time.perf_counter() - t; frames = n
else:
    cap = cv2.VideoCapture(video); t = time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(cv2.resize(frame, (w, h)), cv2.COLOR_BGR2RGB)
        q = np.clip(np.round(rgb / 255.0 / scale + zp), -128, 127).astype(inp["dtype"]) if scale else rgb
        it.set_tensor(inp["index"], q[None]); it.invoke(); it.get_tensor(out["index"])
        frames += 1
    elapsed = time.perf_counter() - t
print(json.dumps({"fps": frames / elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peer(mode: str, model: Path, video: Path, threads: int, invokes: int = 300) -> dict:
    cmd = [sys.executable, "-c", PEER, mode, str(model), str(video), str(threads), str(invokes)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def clip_frames(video: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(video))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return max(count, 100)


def edgecv_run(model: Path, video: Path, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        cmd = [
            sys.executable,
            "-m",
            "edgecv",
            "run",
            "--model",
            str(model),
            "--source",
            str(video),
            "--threads",
            str(threads),
            "--summary-json",
            str(summary),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        return json.loads(summary.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    if not args.model.exists() or not args.video.exists():
        print(f"needs {args.model} and {args.video} (../shared/assets)", file=sys.stderr)
        return 2
    print(f"model {args.model.name}, clip {args.video.name}")
    print(
        f"{'threads':>7} {'invoke fps':>10} {'serial fps':>10} {'edgecv fps':>10} {'edgecv/invoke':>13} "
        f"{'serial/invoke':>13} {'rss edgecv':>10} {'rss serial':>10} {'rss ratio':>9}"
    )
    frames = clip_frames(args.video)
    for threads in (int(t) for t in args.threads.split(",")):
        # Bare invoke() as many times as the clip has frames, before and after the two loops: the machine's
        # speed drifts, and equal windows on both sides share the drift.
        before = peer("invoke", args.model, args.video, threads, frames)
        serial = peer("serial", args.model, args.video, threads)
        ours = edgecv_run(args.model, args.video, threads)
        after = peer("invoke", args.model, args.video, threads, frames)
        bare = {"fps": (before["fps"] + after["fps"]) / 2}
        print(
            f"{threads:>7} {bare['fps']:>10.1f} {serial['fps']:>10.1f} {ours['fps']:>10.1f} "
            f"{ours['fps'] / bare['fps']:>13.3f} {serial['fps'] / bare['fps']:>13.3f} "
            f"{ours['peak_rss_mb']:>10.1f} {serial['peak_rss_mb']:>10.1f} "
            f"{ours['peak_rss_mb'] / serial['peak_rss_mb']:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
