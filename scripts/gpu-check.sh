#!/usr/bin/env bash
# The GPU check: benchalign's PyTorch engine on CUDA on the zoo's small models, with the
# nvidia-smi sampler on, aligned against PyTorch fp32 CPU references (GPU tolerances in
# docs/gpu.md); writes results.json, nvidia-smi.csv and gpu-check.log under $OUT.
#
#   OUT=/tmp/gpu bash scripts/gpu-check.sh                        # default models, 200 timed runs
#   OUT=/tmp/gpu bash scripts/gpu-check.sh --models bert_tiny --iterations 500
#
# Needs an NVIDIA GPU with its driver (nvidia-smi) and a Python whose torch is a CUDA build,
# with transformers and onnx (BENCHALIGN_GPU_PYTHON, else .venv/bin/python when its torch sees
# CUDA, else python3). Nothing is downloaded and Node is not needed: the models are built from
# this working tree (runner-agents/python/benchalign_worker/zoo_models.py) with seeded weights.
# Exit status: 0 all aligned, 1 a model misaligned or errored, 2 bad arguments, 3 no GPU here.
# Extra arguments go to scripts/gpu_check.py (--models, --iterations; --device cpu is a dry run
# of the script's logic without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"

cuda_python() {
  # prints the first interpreter whose torch sees a CUDA device
  local py
  for py in "${BENCHALIGN_GPU_PYTHON:-}" .venv/bin/python python3; do
    [ -n "$py" ] || continue
    command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
      printf '%s\n' "$py"
      return 0
    fi
  done
  return 1
}

dry_run=0
prev=
for arg in "$@"; do
  if [ "$arg" = "--device=cpu" ] || { [ "$prev" = "--device" ] && [ "$arg" = "cpu" ]; }; then dry_run=1; fi
  prev=$arg
done

if [ "$dry_run" = 1 ]; then
  PY=${BENCHALIGN_GPU_PYTHON:-.venv/bin/python}
  [ -x "$PY" ] || PY=python3
  echo "gpu-check: dry run on the CPU with $PY (no GPU involved; the numbers say nothing about a GPU)" | tee "$LOG"
else
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu-check: nvidia-smi not found: this machine has no NVIDIA driver (nothing to check)" | tee "$LOG" >&2
    exit 3
  fi
  if ! PY=$(cuda_python); then
    echo "gpu-check: no Python here has a torch that sees a CUDA device (set BENCHALIGN_GPU_PYTHON)" | tee "$LOG" >&2
    nvidia-smi 2>&1 | tee -a "$LOG" >&2 || true
    exit 3
  fi
  {
    echo "gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ) with $PY"
    nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv
  } | tee "$LOG"
fi

set +e
PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 "$PY" scripts/gpu_check.py --out "$OUT" "$@" 2>&1 | tee -a "$LOG"
status=${PIPESTATUS[0]}
set -e
if [ -f "$OUT/results.json" ]; then
  echo "gpu-check: exit $status; results in $OUT/results.json" | tee -a "$LOG"
else
  echo "gpu-check: exit $status; no results written" | tee -a "$LOG"
fi
exit "$status"
