"""Rebuild everything under ``models/`` from nothing: scenes → training → ``edgecv convert`` → clip.

    .venv-convert/bin/python tools/demo/make_demo.py          # ~10 min on one CPU core

Intermediate files (datasets, the ``.pt2`` checkpoint, the float32 reference model) go to ``build/demo/``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenes import CLASSES, write_clip, write_dataset  # noqa: E402

CALIBRATION_SEED = 500_000
VALIDATION_SEED = 200_000
CLIP_SEED = 7


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "demo")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--reuse-checkpoint", action="store_true", help="skip training if the .pt2 exists")
    args = parser.parse_args()
    build, models = args.build, args.models
    checkpoint = build / "demo.pt2"

    if not (build / "calibration" / "images").exists():
        write_dataset(build / "calibration", 300, CALIBRATION_SEED)
    if not (build / "validation" / "images").exists():
        write_dataset(build / "validation", 200, VALIDATION_SEED)
    if not (args.reuse_checkpoint and checkpoint.exists()):
        subprocess.run(
            [sys.executable, str(Path(__file__).parent / "train.py"), "-o", str(checkpoint)], check=True
        )

    models.mkdir(parents=True, exist_ok=True)
    labels = models / "demo_labels.txt"
    labels.write_text("\n".join(CLASSES) + "\n")
    output = models / "demo_int8.tflite"
    output.unlink(missing_ok=True)
    from edgecv.convert.cli import main as convert

    status = convert(
        [
            str(checkpoint),
            "--calibration", str(build / "calibration" / "images"),
            "--val-images", str(build / "validation" / "images"),
            "--val-annotations", str(build / "validation" / "labels"),
            "--labels", str(labels),
            "--max-map-drop", "1.0",
            "-o", str(output),
            "--keep-float", str(build / "demo_float.tflite"),
        ]
    )  # fmt: skip
    # The drift report describes this build; keep it beside the model so the README's figures can be checked.
    write_clip(models / "demo_clip.mp4", CLIP_SEED)
    print(f"clip: {models / 'demo_clip.mp4'} ({(models / 'demo_clip.mp4').stat().st_size / 1e6:.1f} MB)")
    return status


if __name__ == "__main__":
    sys.exit(main())
