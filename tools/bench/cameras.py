"""Several cameras on one interpreter: `edgecv bench --config` with 1, 2 and 4 cameras of the same clip.

For each camera count, in its own process, alternating the counts over ``--repeats`` passes (a shared
machine drifts; alternating spreads the drift over every count):

  * ``edgecv bench --config F --threads 1 --frames N --json``: every camera at full rate (files are never
    skipped, so each camera is saturated), all cameras' fps together against the bare ``invoke()`` rate
    (``efficiency``), each camera's fps and their spread around the mean, the interpreter's wait for a
    prepared frame (``frame_wait``);
  * ``edgecv run --config F --max-frames N --summary-json``: the real command's peak RSS, stdout off.

Peak RSS per added camera is (RSS with n cameras - RSS with 1) / (n - 1), medians over the passes.

    python tools/bench/cameras.py [--model M --labels L] [--video V] [--cameras 1,2,4] [--frames N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO.parent / "shared" / "assets"
SSD = ASSETS / "models" / "ssd_mobilenet_v1_coco_quant"
DEFAULT_VIDEO = ASSETS / "mot15" / "TUD-Campus" / "TUD-Campus.mp4"  # 640x480


def config(folder: Path, model: Path, labels: Path, video: Path, cameras: int) -> Path:
    path = folder / f"cameras{cameras}.json"  # JSON is YAML
    body = {
        "model": {"path": str(model), "labels": str(labels), "threads": 1},
        "output": {"stdout": "off"},
        "cameras": {f"cam{i}": {"source": {"uri": str(video), "loop": True}} for i in range(cameras)},
    }
    path.write_text(json.dumps(body))
    return path


def bench(path: Path, frames: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "edgecv", "bench", "--config", str(path), "--threads", "1"]
    out = subprocess.run(
        [*cmd, "--frames", str(frames), "--json"], check=True, capture_output=True, text=True, cwd=REPO
    )
    return json.loads(out.stdout)


def run_rss(path: Path, frames: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        cmd = [sys.executable, "-m", "edgecv", "run", "--config", str(path)]
        subprocess.run(
            [*cmd, "--max-frames", str(frames), "--summary-json", str(summary)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        )
        return float(json.loads(summary.read_text())["peak_rss_mb"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=SSD / "detect.tflite")
    parser.add_argument("--labels", type=Path, default=SSD / "labelmap.txt")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--cameras", default="1,2,4")
    parser.add_argument("--frames", type=int, default=600, help="frames per bench (all cameras together)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.model.exists() and args.video.exists()):
        print(f"needs {args.model} and {args.video} (../shared/assets)", file=sys.stderr)
        return 2
    counts = [int(n) for n in args.cameras.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {n: config(Path(tmp), args.model, args.labels, args.video, n) for n in counts}
        for _ in range(args.repeats):
            for n in counts:
                row = bench(paths[n], args.frames)
                row["run_rss_mb"] = run_rss(paths[n], args.frames // 2)
                runs[n].append(row)
    table = {n: summarize(rows) for n, rows in runs.items()}
    base = table[min(counts)]
    for n, row in table.items():
        added = n - min(counts)
        row["rss_per_added_camera_mb"] = (
            round((row["run_rss_mb"] - base["run_rss_mb"]) / added, 1) if added else None
        )
    if args.json:
        print(json.dumps(table))
        return 0
    print(
        f"model {args.model.name}, clip {args.video.name} per camera, 1 interpreter thread, medians of {args.repeats}"
    )
    print(
        f"{'cameras':>7} {'fps':>7} {'invoke':>7} {'efficiency':>10} {'(passes)':>20} {'cam fps':>14} "
        f"{'spread':>6} {'wait ms':>7} {'infer/bare ms':>13} {'RSS run':>7} {'MB/cam':>6}"
    )
    for n, row in table.items():
        passes = ",".join(f"{e:.3f}" for e in row["efficiency_passes"])
        cams = "/".join(f"{f:.1f}" for f in row["camera_fps"])
        per = "" if row["rss_per_added_camera_mb"] is None else f"{row['rss_per_added_camera_mb']:.1f}"
        print(
            f"{n:>7} {row['fps']:>7.1f} {row['invoke_fps']:>7.1f} {row['efficiency']:>10.3f} {passes:>20} "
            f"{cams:>14} {row['camera_fps_spread']:>6.3f} {row['frame_wait_ms']:>7.3f} "
            f"{row['inference_ms']:>6.2f}/{1000 / row['invoke_fps']:<6.2f} {row['run_rss_mb']:>7.1f} {per:>6}"
        )
    return 0


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the passes (each camera's fps too); each pass's efficiency kept, the worst camera spread
    kept."""
    median = statistics.median
    names = list(rows[0]["cameras"])
    return {
        "fps": median(r["fps"] for r in rows),
        "invoke_fps": median(r["invoke_fps"] for r in rows),
        "efficiency": median(r["efficiency"] for r in rows),
        "efficiency_passes": [r["efficiency"] for r in rows],
        "camera_fps": [median(r["cameras"][name]["fps"] for r in rows) for name in names],
        "camera_fps_spread": max(r["camera_fps_spread"] for r in rows),
        "frame_wait_ms": median(r["inference_thread_ms"]["frame_wait"]["mean"] for r in rows),
        # invoke() inside the pipeline against bare (1000 / invoke_fps): what the other threads cost it
        "inference_ms": median(r["inference_thread_ms"]["inference"]["mean"] for r in rows),
        "bench_rss_mb": median(r["peak_rss_mb"] for r in rows),
        "run_rss_mb": median(r["run_rss_mb"] for r in rows),
    }


if __name__ == "__main__":
    sys.exit(main())
