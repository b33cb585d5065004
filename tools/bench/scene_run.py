"""The cost of scene rules in the real command: ``edgecv run`` on a clip with no rules and with 10 zones and
10 lines, alternating over ``--repeats`` passes in one invocation (a shared machine drifts; alternating
spreads the drift over both).

Each run prints its frame lines (read and dropped: the ``zones`` of frame lines and the event lines are part
of the cost) and writes ``--summary-json``; reported per variant, medians over the passes: fps, the ``scene``
stage (filters before the tracker plus zones and lines after it, ms per frame, mean and p95; timed on the
post thread, so it includes waits for the GIL held by the capture and inference threads), the ``output``
stage, scene events per run, and the process's CPU milliseconds (user + sys) per frame.

``replay``: the tracked detections of the last run without rules fed to the same rules' ``CameraScene`` in
this process, alone (no other thread): filter + update ms per frame, the rules' own cost.

    python tools/bench/scene_run.py [--model M --labels L] [--video V] [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO.parent / "shared" / "assets"
SSD = ASSETS / "models" / "ssd_mobilenet_v1_coco_quant"
VIDEO = ASSETS / "video" / "vtest.mp4"  # 768x576, PETS09-S2L1


def rules(width: float = 1.0, height: float = 1.0) -> dict[str, Any]:
    """10 zones (a 5 x 2 grid over the frame) and 10 lines (5 vertical, 4 horizontal, 1 diagonal), relative
    units: every walker is in some zone and crosses lines."""
    zones = {
        f"cell{c}{r}": {
            "units": "relative",
            "polygon": [
                [c / 5, r / 2],
                [(c + 1) / 5, r / 2],
                [(c + 1) / 5, (r + 1) / 2],
                [c / 5, (r + 1) / 2],
            ],
        }
        for c in range(5)
        for r in range(2)
    }
    lines = {f"v{k}": {"units": "relative", "points": [[k / 6, 0.05], [k / 6, 0.95]]} for k in range(1, 6)}
    lines |= {f"h{k}": {"units": "relative", "points": [[0.05, k / 5], [0.95, k / 5]]} for k in range(1, 5)}
    lines["diagonal"] = {"units": "relative", "points": [[0.1, 0.9], [0.9, 0.1]]}
    return {"zones": zones, "lines": lines}


def replay(stdout: str, body: dict[str, Any], labels: Path, repeats: int = 5) -> float:
    """Milliseconds per frame of ``CameraScene.filter`` + ``update`` over the frames of ``stdout``."""
    import time

    import numpy as np

    from edgecv.config.scene import SceneConfig
    from edgecv.detections import Detections
    from edgecv.frame import Frame
    from edgecv.labels import load_labels
    from edgecv.scene.rules import CameraScene

    frames = []
    for line in stdout.splitlines():
        record = json.loads(line)
        if record["type"] == "frame":
            dets = record["detections"]
            n = len(dets)
            frames.append(
                Detections(
                    np.array([d["box"] for d in dets], np.float32).reshape(n, 4),
                    np.array([d["score"] for d in dets], np.float32),
                    np.array([d["class_id"] for d in dets], np.int32),
                    np.array([d.get("track_id", -1) for d in dets], np.int64),
                )
            )
    image = np.zeros((576, 768, 3), np.uint8)
    config = SceneConfig(zones=body["zones"], lines=body["lines"])
    best = np.inf
    for _ in range(repeats):
        scene = CameraScene("bench", config, load_labels(labels))
        start = time.perf_counter()
        for seq, dets in enumerate(frames):
            frame = Frame(image, seq, 1e9 + seq / 10, mono=seq / 10)
            scene.update(scene.filter(dets, frame), frame.ts, frame.mono)
        best = min(best, (time.perf_counter() - start) / len(frames))
    return 1000 * best


def run(config: Path, folder: Path) -> dict[str, Any]:
    summary = folder / "summary.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "edgecv", "run", "--config", str(config), "--summary-json", str(summary)],
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads(summary.read_text())
    scene_events = sum(
        '"event":"zone_' in line or '"event":"line_cross"' in line for line in out.stdout.splitlines()
    )
    stages = result["stages_ms"]
    return {
        "fps": result["fps"],
        "scene_ms": stages.get("scene", {}).get("mean", 0.0),
        "scene_p95_ms": stages.get("scene", {}).get("p95", 0.0),
        "output_ms": stages["output"]["mean"],
        "cpu_ms_per_frame": 1000 * cpu / result["frames"],
        "scene_events": scene_events,
        "stdout": out.stdout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=SSD / "detect.tflite")
    parser.add_argument("--labels", type=Path, default=SSD / "labelmap.txt")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    base = {
        "model": {"path": str(args.model), "labels": str(args.labels), "threads": 1},
        "source": {"uri": str(args.video)},
        "output": {"stdout": "on", "sinks": ["stdout"]},
    }
    variants = {"no rules": base, "10 zones + 10 lines": {**base, **rules()}}
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = {}
        for k, (name, body) in enumerate(variants.items()):
            paths[name] = folder / f"variant{k}.json"  # JSON is YAML
            paths[name].write_text(json.dumps(body))
        for _ in range(args.repeats):
            for name, path in paths.items():
                samples[name].append(run(path, folder))
    report: dict[str, Any] = {
        name: {key: round(statistics.median(s[key] for s in runs), 3) for key in runs[0] if key != "stdout"}
        for name, runs in samples.items()
    }
    report["replay_ms_per_frame"] = round(replay(samples["no rules"][-1]["stdout"], rules(), args.labels), 4)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{args.video.name}, {args.model.parent.name}, 1 thread, medians of {args.repeats} alternating passes"
    )
    for name in variants:
        figures = report[name]
        print(
            f"  {name:22s} {figures['fps']:7.1f} fps  scene {figures['scene_ms']:.3f} ms/frame "
            f"(p95 {figures['scene_p95_ms']:.3f})  output {figures['output_ms']:.3f} ms  "
            f"cpu {figures['cpu_ms_per_frame']:.2f} ms/frame  {figures['scene_events']:.0f} scene events"
        )
    print(
        f"  replay of the tracked frames through the rules alone: {report['replay_ms_per_frame']:.4f} ms/frame"
    )


if __name__ == "__main__":
    main()
