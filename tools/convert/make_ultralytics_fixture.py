"""Train a tiny Ultralytics detector with the real ``ultralytics`` package and save its ``.pt`` as a fixture.

    .venv/bin/python tools/convert/make_ultralytics_fixture.py                 # YOLOv8 and YOLO11
    .venv/bin/python tools/convert/make_ultralytics_fixture.py --arch yolov8 --epochs 30

edgecv must read Ultralytics checkpoints *without* the ``ultralytics`` package (it pulls torchvision and CUDA
builds that cannot live beside the CPU torch), so its tests need a genuine checkpoint written by the real
package. This script makes one, in a throwaway venv (``build/ultralytics-venv``):

* ``torch==2.13.0`` (the CPU build the converter uses) and ``ultralytics`` with ``--no-deps`` plus the
  dependencies it imports, so pip never resolves a CUDA torch;
* ``torchvision`` installed for its metadata only: PyPI's wheels link CUDA libtorch and fail to load beside
  the CPU build. Ultralytics reads its version at import and calls only ``torchvision.ops.nms`` (validation);
  the training driver below puts a stand-in module first, whose ``nms`` is Ultralytics' own pure-torch
  ``TorchNMS`` (in the driver's process only);
* data: the demo's synthetic scenes (``tools/demo/scenes.py``: circles, squares, triangles drawn by OpenCV
  from a seed), so the fixture carries no third-party images.

The model is YOLOv8's (or YOLO11's) architecture at 1/16 of the nano width, trained for a few minutes on the
CPU: a few hundred KB, enough to detect the shapes, not a useful detector of anything else. It is written
to ``tests/fixtures/ultralytics/`` (see the README there for its licence).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "demo"))

ULTRALYTICS = "ultralytics==8.4.190"
TORCH = "torch==2.13.0"  # the file pip finds on this machine's disk is the CPU build
TORCHVISION = "torchvision==0.28.0"  # the release paired with torch 2.13; its metadata, not its code
# What ultralytics imports for training (its other requirements, torchvision included, are left out).
DEPENDENCIES = [
    "numpy",
    "matplotlib",
    "opencv-python-headless",
    "pillow",
    "pyyaml",
    "requests",
    "scipy",
    "psutil",
    "polars",
    "ultralytics-thop",
]
OUTPUT = ROOT / "tests" / "fixtures" / "ultralytics"

# yolov8.yaml / yolo11.yaml at depth 0.33 and 1/16 of the nano width (channels 16..64).
SCALE = {"depth": 0.33, "width": 0.0625, "max_channels": 1024}

DRIVER = textwrap.dedent(
    """
    import json, sys, types

    # torchvision's PyPI wheels need CUDA libtorch; validation only calls torchvision.ops.nms.
    def nms(boxes, scores, iou):
        from ultralytics.utils.nms import TorchNMS

        return TorchNMS.nms(boxes, scores, iou)

    ops = types.ModuleType("torchvision.ops")
    ops.nms = nms
    shim = types.ModuleType("torchvision")
    shim.ops = ops
    shim.__version__ = "0.0"
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = shim, ops

    from ultralytics import YOLO

    args = json.loads(sys.argv[1])
    model = YOLO(args["model_yaml"], task="detect")
    model.train(
        data=args["data_yaml"], epochs=args["epochs"], imgsz=args["imgsz"], batch=16, device="cpu",
        workers=0, amp=False, plots=False, project=args["project"], name="run", exist_ok=True, seed=0,
        deterministic=True, verbose=False, mosaic=1.0, close_mosaic=2, patience=1000,
    )
    best = str(model.trainer.best)
    # The stock forward's decoded output on a fixed input: edgecv's tests compare their reading of the
    # checkpoint (their own modules, no ultralytics) against what the real package computes.
    import numpy as np
    import torch

    net = YOLO(best).model.float().eval()
    size = args["imgsz"]
    x = (torch.arange(3 * size * size, dtype=torch.float32) * 0.618034 % 1.0).reshape(1, 3, size, size)
    with torch.no_grad():
        y = net(x)
    np.save(args["expected"], (y[0] if isinstance(y, (list, tuple)) else y).numpy())
    print("BEST", best)
    """
)


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {venv} ({ULTRALYTICS}, {TORCH}, {TORCHVISION} metadata)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, TORCH], check=True)
    subprocess.run([*pip, "--no-deps", ULTRALYTICS, TORCHVISION], check=True)
    subprocess.run([*pip, *DEPENDENCIES], check=True)  # torch is already there: ultralytics-thop takes it
    return python


def write_data(folder: Path, train: int, val: int, imgsz: int) -> Path:
    from scenes import CLASSES, write_dataset

    if not (folder / "data.yaml").exists():
        width, height = imgsz * 2, imgsz * 3 // 2  # 4:3 scenes, letterboxed by Ultralytics like a camera's
        write_dataset(folder / "train", train, seed=1000, width=width, height=height)
        write_dataset(folder / "val", val, seed=9000, width=width, height=height)
        names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CLASSES))
        (folder / "data.yaml").write_text(
            f"path: {folder}\ntrain: train/images\nval: val/images\nnames:\n{names}\n"
        )
    return folder / "data.yaml"


def model_yaml(python: Path, arch: str, folder: Path) -> Path:
    """The package's own yolov8.yaml / yolo11.yaml with one extra scale, ``t`` (tiny)."""
    source = {"yolov8": "v8/yolov8.yaml", "yolo11": "11/yolo11.yaml"}[arch]
    script = (
        "import importlib.util, pathlib, yaml, sys; "
        "root = importlib.util.find_spec('ultralytics').submodule_search_locations[0]; "
        f"p = pathlib.Path(root) / 'cfg/models/{source}'; "
        "d = yaml.safe_load(p.read_text()); "
        f"d['scales'] = {{'t': [{SCALE['depth']}, {SCALE['width']}, {SCALE['max_channels']}]}}; "
        "sys.stdout.write(yaml.safe_dump(d, sort_keys=False))"
    )
    text = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True).stdout
    path = folder / f"{arch}t.yaml"  # the trailing "t" selects the scale, as "n" does in yolov8n.yaml
    path.write_text(text)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arch", choices=("yolov8", "yolo11", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--train-images", type=int, default=400)
    parser.add_argument("--venv", type=Path, default=ROOT / "build" / "ultralytics-venv")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "ultralytics-fixture")
    args = parser.parse_args()
    python = ensure_venv(args.venv)
    args.work.mkdir(parents=True, exist_ok=True)
    data = write_data(args.work / "data", args.train_images, 80, args.imgsz)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for arch in ("yolov8", "yolo11") if args.arch == "both" else (args.arch,):
        settings = {
            "model_yaml": str(model_yaml(python, arch, args.work)),
            "data_yaml": str(data),
            "epochs": args.epochs,
            "imgsz": args.imgsz,
            "project": str(args.work / arch),
            "expected": str(OUTPUT / f"{arch}_tiny_shapes.expected.npy"),
        }
        # YOLO_OFFLINE: no update checks, font or asset downloads (this machine has no network anyway).
        env = {"YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(args.work / "config"), "PATH": "/usr/bin:/bin"}
        run = subprocess.run(
            [str(python), "-c", DRIVER, json.dumps(settings)], env=env, capture_output=True, text=True
        )
        sys.stderr.write(run.stderr[-4000:])
        if run.returncode != 0:
            return run.returncode
        best = Path(next(line[5:] for line in run.stdout.splitlines() if line.startswith("BEST ")))
        target = OUTPUT / f"{arch}_tiny_shapes.pt"
        shutil.copyfile(best, target)
        print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
