#!/usr/bin/env bash
# One step of make test-arm64, run inside the emulated rootfs from a copy of the checkout (/root/edgecv;
# shared assets at /root/shared/assets when present; the stage's work folder, with the host-decoded clips,
# at /out).
#   in_rootfs.sh install|versions|pytest|demo|pipe|record ARCH
set -euo pipefail
step=$1 arch=$2
cd /root/edgecv
assets=""
[ -d /root/shared/assets ] && assets=/root/shared/assets

# The architecture-sensitive tests: decoders, NMS and preprocessing, accuracy on the shared models (same-
# machine reference and floors), `edgecv detect` on the shared photos, config loading. Named one by one so
# a rename fails here instead of silently dropping coverage. Nothing that asserts timing (emulated time
# means nothing), nor `edgecv run` tests: their runs keep the watchdog's 10 s inference deadline, which an
# emulated YOLOv8n frame on a busy machine can pass; the run steps below use tools/pi/emulated.yaml.
TESTS=(
  tests/detect
  tests/config
  tests/pipeline/test_run.py::test_detect_command_json_and_unreadable_images
)

case "$step" in
  install)
    # README, Raspberry Pi OS: a venv that sees apt's packages (numpy, picamera2), pins for apt's numpy.
    # The venv is kept between runs while the pins and dependencies stay the same; the recipe runs anyway.
    recipe=$(cat pyproject.toml constraints/bookworm.txt | sha256sum | cut -c1-16)
    if [ "$(cat .venv/.edgecv-recipe 2>/dev/null)" != "$recipe" ]; then
      rm -rf .venv
      python3 -m venv --system-site-packages .venv
    fi
    .venv/bin/pip install -q -e '.[dev]' -c constraints/bookworm.txt
    echo "$recipe" > .venv/.edgecv-recipe
    ;;
  versions)
    # The point of running on Bookworm: apt's numpy, not a newer wheel pip slipped into the venv.
    apt_numpy=$(dpkg-query -W -f '${Version}' python3-numpy | sed 's/^[0-9]*://; s/-[^-]*$//')
    .venv/bin/python - "$apt_numpy" <<'PY'
import platform, sys
import cv2, numpy
from edgecv.detect.runtime import import_runtime
apt_numpy = sys.argv[1]
runtime = import_runtime()
print(f"{platform.machine()} python {platform.python_version()}, numpy {numpy.__version__} ({numpy.__file__}),"
      f" OpenCV {cv2.__version__}, {runtime.name}")
assert numpy.__version__ == apt_numpy and numpy.__version__.startswith("1.24."), (
    f"numpy {numpy.__version__} in the venv, apt's is {apt_numpy}: a dependency pulled a newer numpy;"
    " pin it in the constraints file to a version that accepts numpy 1.24")
assert numpy.__file__.startswith("/usr/lib/python3/dist-packages/"), (
    f"numpy loads from {numpy.__file__}, not from apt's python3-numpy")
PY
    ;;
  pytest)
    # -s: the accuracy tests print each model's mAP here, the figures the README quotes.
    ACCURACY_DETECTIONS_DIR=/out/$arch .venv/bin/python -m pytest -q -s -p no:cacheprovider "${TESTS[@]}"
    ;;
  demo)
    # `make demo` as a user runs it: the bare command, every frame of the bundled clip, exit 0.
    .venv/bin/edgecv run > /tmp/demo.jsonl
    frames=$(grep -c '"type":"frame"' /tmp/demo.jsonl || true)
    [ "$frames" = 120 ] || { echo "the demo printed $frames frame lines, not 120"; exit 1; }
    ;;
  pipe)
    # A reader leaving early (`edgecv run | head`) is a normal end: exit 0, no traceback, no "Exception
    # ignored ... BrokenPipeError". Timing decided it, so it showed on slow machines only: like this one.
    status=0
    .venv/bin/edgecv run --config tools/pi/emulated.yaml 2> /tmp/pipe.err | head -n 2 > /tmp/pipe.out \
      || status=${PIPESTATUS[0]}
    cat /tmp/pipe.err
    lines=$(wc -l < /tmp/pipe.out)
    [ "$status" = 0 ] || { echo "edgecv run | head -n 2: edgecv exited $status"; exit 1; }
    [ "$lines" = 2 ] || { echo "edgecv run | head -n 2 printed $lines lines"; exit 1; }
    if grep -E "Traceback|BrokenPipe|Exception ignored" /tmp/pipe.err; then exit 1; fi
    ;;
  record)
    bash tools/pi/record_runs.sh .venv/bin/python "/out/$arch" /out/clips "$assets"
    ;;
  *)
    echo "unknown step $step" >&2
    exit 2
    ;;
esac
