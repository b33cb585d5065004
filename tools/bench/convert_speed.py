"""int8 vs float32 TFLite of the same model: ``invoke()`` time at one thread, measured in the same run.

    python tools/bench/convert_speed.py                       # the demo model (float from make_demo.py)
    python tools/bench/convert_speed.py --int8 A.tflite --float B.tflite
    python tools/bench/convert_speed.py --int8 A.tflite --float B.tflite --also int16-0-4=C.tflite

Runs alternate between the two models in short blocks, so background load on a shared machine hits both
alike; the figure is the median per-invoke time of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def invoke_times(interpreter, blocks: int, per_block: int) -> list[float]:
    detail = interpreter.get_input_details()[0]
    info = np.iinfo(detail["dtype"]) if np.dtype(detail["dtype"]).kind in "iu" else None
    rng = np.random.default_rng(0)
    if info is not None:
        tensor = rng.integers(info.min, info.max, detail["shape"], dtype=detail["dtype"])
    else:
        tensor = rng.random(detail["shape"], dtype=np.float32)
    interpreter.set_tensor(detail["index"], tensor)
    times = []
    for _ in range(per_block):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--int8", type=Path, default=ROOT / "models" / "demo_int8.tflite")
    parser.add_argument(
        "--float", dest="float_model", type=Path, default=ROOT / "build" / "demo" / "demo_float.tflite"
    )
    parser.add_argument(
        "--also",
        metavar="LABEL=FILE",
        action="append",
        default=[],
        help="another variant of the same model to time in the same run (e.g. --int16-activations)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--per-block", type=int, default=30)
    args = parser.parse_args()
    if not args.float_model.exists():
        print(
            f"{args.float_model} not found: build it with 'python tools/demo/make_demo.py' "
            "(or pass --float with the float32 .tflite of the same model)",
            file=sys.stderr,
        )
        return 2
    from edgecv.detect.runtime import import_runtime, load_interpreter

    models = {"int8": args.int8, "float32": args.float_model}
    for item in args.also:
        label, _, path = item.partition("=")
        if not label or not path or not Path(path).exists():
            print(f"--also {item!r}: give LABEL=FILE with an existing .tflite", file=sys.stderr)
            return 2
        models[label] = Path(path)
    interpreters = {name: load_interpreter(path, threads=args.threads) for name, path in models.items()}
    for interpreter in interpreters.values():
        invoke_times(interpreter, 1, 10)  # warm-up: first invokes pay for allocation and packing
    samples: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.blocks):
        for name, interpreter in interpreters.items():
            samples[name] += invoke_times(interpreter, 1, args.per_block)
    median = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    print(f"runtime {import_runtime().name}, {args.threads} thread(s), {len(samples['int8'])} invokes each")
    for name, path in models.items():
        print(f"{name:12s} {median[name]:7.2f} ms  ({path.stat().st_size / 1024:.0f} KiB)  {path}")
    print(f"int8 speed-up: {median['float32'] / median['int8']:.2f}x")
    for label in list(models)[2:]:
        print(f"{label}: {median[label] / median['int8']:.2f}x the int8 time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
