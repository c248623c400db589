#!/usr/bin/env bash
# The full zoo (`npm run zoo`): every architecture of `benchalign zoo list`, prepared (cached)
# and measured on every CPU engine (ONNX Runtime, OpenVINO, NCNN, MNN, PyTorch; 1 thread, fp32),
# aligned against the PyTorch references, with the batch (1, 4, 8) and concurrency (1, 2) sweeps
# on the CNNs; then `benchalign compare` draws it. The "Engine comparison" and "Device" sections
# of the run's report.md are the table of docs/zoo.md. About 30 minutes on a 2-core machine.
#
#   npm run zoo                                   # all architectures
#   ZOO_MODELS="mobilenet_v2 bert_tiny" npm run zoo
#   ZOO_DIR=/data/zoo ZOO_RUN=reports/zoo-now npm run zoo
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build

ZOO_DIR=${ZOO_DIR:-.cache/zoo}
ZOO_RUN=${ZOO_RUN:-reports/$(date -u +%Y%m%dT%H%M%SZ)-zoo}
read -r -a models <<<"${ZOO_MODELS:---all}"

node bin/benchalign.js zoo prepare "${models[@]}" --dir "$ZOO_DIR"
set +e
node bin/benchalign.js run "$ZOO_DIR/zoo.yaml" --out "$ZOO_RUN" --quiet
status=$?
set -e
if [ -f "$ZOO_RUN/results.json" ]; then
  node bin/benchalign.js compare "$ZOO_RUN" --baseline-engine onnxruntime --out "$ZOO_RUN/compare" >/dev/null
  # the table of docs/zoo.md
  sed -n '/^## Engine comparison/,/^## Alignment per output/p' "$ZOO_RUN/report.md" | sed '$d'
  node scripts/zoo-sweeps.mjs "$ZOO_RUN/results.json"
  echo
  sed -n '/^## Device/,$p' "$ZOO_RUN/report.md"
  echo "zoo: run folder $ZOO_RUN (report.md, results.json; compare/report.html has the charts)"
fi
exit "$status"
