#!/usr/bin/env bash
# Test environment: the project venv (scripts/setup-python.sh), then every fixture script
# test/fixtures/make_*.py, each writing into test/fixtures/generated/<name>/. A fixture set
# is regenerated only when its script changed (hash stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
bash scripts/setup-python.sh
PY=.venv/bin/python
mkdir -p test/fixtures/generated
for script in test/fixtures/make_*.py; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .py); name=${name#make_}
  out="test/fixtures/generated/$name"
  want=$(cat "$script" requirements.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$want" ]; then continue; fi
  echo "setup-test-env: generating fixtures $name" >&2
  rm -rf "$out"; mkdir -p "$out"
  "$PY" "$script" "$out"
  echo "$want" > "$out/.stamp"
done
