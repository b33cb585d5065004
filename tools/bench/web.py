"""The web view's cost to the pipeline: ``edgecv run`` with the web server on and two viewers on one
camera's stream, against the same run with it off.

SSD MobileNet v1 (../shared/assets), 1 interpreter thread, vtest.mp4 (480x360) as a file source (every frame
processed: the run is as fast as the pipeline, so anything the web view takes from it shows in fps).
Rounds alternate off / on in one invocation, which one goes first alternating too (a shared machine
drifts; alternating spreads the drift over both), ``--repeats`` of each. Reported: median fps of each, their ratio (goal >= 0.97), each pass's
ratio, peak RSS (``--summary-json``'s ``peak_rss_mb``) and its growth (goal <= 15 MB), and the frames each
viewer received per second (stream_fps 5: the viewers were really watching).

    python tools/bench/web.py [--frames N] [--repeats R] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO.parent / "shared" / "assets"
SSD = ASSETS / "models" / "ssd_mobilenet_v1_coco_quant"
VIDEO = ASSETS / "video" / "vtest.mp4"
URL_LINE = re.compile(r"web view on http://([\d.]+):(\d+)/")
VIEWERS = 2


def config(folder: Path, frames: int, web: bool) -> Path:
    path = folder / f"web-{'on' if web else 'off'}.json"  # JSON is YAML
    body: dict[str, Any] = {
        "model": {"path": str(SSD / "detect.tflite"), "labels": str(SSD / "labelmap.txt"), "threads": 1},
        "source": {"uri": str(VIDEO), "loop": True},
        "output": {"stdout": "off"},
        "web": {"enabled": web, "port": 0},
    }
    path.write_text(json.dumps(body))
    return path


class Viewer(threading.Thread):
    """Reads one MJPEG stream as fast as it comes, counting parts."""

    def __init__(self, host: str, port: int, camera: str) -> None:
        super().__init__(daemon=True)
        self.address, self.camera = (host, port), camera
        self.parts = 0
        self.started_at = self.ended_at = 0.0

    def run(self) -> None:
        try:
            with socket.create_connection(self.address, timeout=30) as conn:
                conn.sendall(
                    f"GET /api/cameras/{self.camera}/stream.mjpeg HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                )
                self.started_at = time.monotonic()
                while True:
                    chunk = conn.recv(1 << 16)
                    if not chunk:
                        break
                    self.parts += chunk.count(b"Content-Type: image/jpeg")
                    self.ended_at = time.monotonic()
        except OSError:
            pass

    @property
    def fps(self) -> float:
        span = self.ended_at - self.started_at
        return self.parts / span if span > 0 else 0.0


def one_run(path: Path, frames: int, web: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        cmd = [sys.executable, "-m", "edgecv", "run", "--config", str(path), "--max-frames", str(frames)]
        proc = subprocess.Popen(
            [*cmd, "--summary-json", str(summary)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        viewers: list[Viewer] = []
        assert proc.stderr is not None
        for line in proc.stderr:
            found = URL_LINE.search(line)
            if web and found and not viewers:
                camera = "cam0"
                viewers = [Viewer(found.group(1), int(found.group(2)), camera) for _ in range(VIEWERS)]
                for viewer in viewers:
                    viewer.start()
        if proc.wait() != 0:
            raise SystemExit(f"edgecv run failed ({proc.returncode})")
        report = json.loads(summary.read_text())
    return {
        "fps": report["fps"],
        "peak_rss_mb": report["peak_rss_mb"],
        "viewer_fps": [round(v.fps, 2) for v in viewers],
        "jpeg_encodes": report.get("web", {}).get("jpeg_encodes"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=500, help="frames per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (off, on alternating)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (SSD / "detect.tflite").exists() or not VIDEO.exists():
        print(f"needs {SSD} and {VIDEO} (../shared/assets)", file=sys.stderr)
        return 2
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {web: config(Path(tmp), args.frames, web) for web in (False, True)}
        for index in range(args.repeats):
            # ABBA: which goes first alternates, so a trend in the machine's load favours neither.
            for web in (False, True) if index % 2 == 0 else (True, False):
                runs["on" if web else "off"].append(one_run(paths[web], args.frames, web))
    median = statistics.median
    off_fps, on_fps = median(r["fps"] for r in runs["off"]), median(r["fps"] for r in runs["on"])
    off_rss, on_rss = (
        median(r["peak_rss_mb"] for r in runs["off"]),
        median(r["peak_rss_mb"] for r in runs["on"]),
    )
    result = {
        "frames": args.frames,
        "repeats": args.repeats,
        "fps_off": off_fps,
        "fps_on": on_fps,
        "fps_ratio": round(on_fps / off_fps, 3),
        "fps_ratio_passes": [
            round(on["fps"] / off["fps"], 3) for off, on in zip(runs["off"], runs["on"], strict=True)
        ],
        "peak_rss_off_mb": off_rss,
        "peak_rss_on_mb": on_rss,
        "peak_rss_growth_mb": round(on_rss - off_rss, 1),
        "viewer_fps": [v for r in runs["on"] for v in r["viewer_fps"]],
        "jpeg_encodes": [r["jpeg_encodes"] for r in runs["on"]],
        "runs": runs,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"SSD MobileNet v1, 1 interpreter thread, {VIDEO.name} (file, every frame), {args.frames} frames per run"
    )
    print(
        f"  fps web off {off_fps:.2f}, web on + {VIEWERS} viewers {on_fps:.2f}: ratio {result['fps_ratio']:.3f} (goal >= 0.97)"
    )
    print(f"  each pass's ratio: {', '.join(f'{r:.3f}' for r in result['fps_ratio_passes'])}")
    print(
        f"  peak RSS off {off_rss:.1f} MB, on {on_rss:.1f} MB: +{result['peak_rss_growth_mb']:.1f} MB (goal <= 15)"
    )
    print(f"  viewer fps (stream_fps 5): {', '.join(f'{v:.2f}' for v in result['viewer_fps'])}")
    print(f"  JPEG encodes per run (shared by the viewers): {result['jpeg_encodes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
