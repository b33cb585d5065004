#!/usr/bin/env bash
# The `edgecv run` commands whose output make test-arm64 compares across machines, run once with the host's
# venv and once in the emulated rootfs: the same lines, so the two runs cannot drift apart.
#   record_runs.sh PYTHON OUT_DIR CLIPS_DIR [ASSETS_DIR]   writes OUT_DIR/<name>.jsonl (stdout of each run)
# CLIPS_DIR holds lossless copies of the clips, decoded on the host (lossless_clip.py says why).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
models=$here/../../models
python=$1 out=$2 clips=$3 assets=${4:-}
mkdir -p "$out"
# The config loader rejects unknown EDGECV_ variables and honours known ones: neither may leak in.
while read -r name; do unset "$name"; done < <(env | sed -n 's/^\(EDGECV_[A-Za-z0-9_]*\)=.*/\1/p')
run=("$python" -m edgecv run --config "$here/emulated.yaml")

# The bundled demo (model, labels) on the bundled clip's frames: detections, track ids and events.
"${run[@]}" --model "$models/demo_int8.tflite" --labels "$models/demo_labels.txt" --source "$clips/demo_clip.avi" \
  > "$out/demo.jsonl"
if [ -n "$assets" ] && [ -d "$assets" ]; then
  # The first 8 frames of the shared clip through YOLOv8n: a Cortex-A72 YOLOv8n frame takes 5-10 s emulated.
  "${run[@]}" --model "$assets/models/yolov8n_int8/yolov8n_full_integer_quant.tflite" \
    --source "$clips/vtest.avi" --threads 1 > "$out/vtest_yolov8n.jsonl"
fi
