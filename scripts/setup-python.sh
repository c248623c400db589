#!/usr/bin/env bash
# Creates or updates the project venv (.venv/) from requirements*.txt. Idempotent: it does
# nothing when the venv already matches the requirement files' hash.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${BENCHALIGN_PYTHON:-python3}
VENV=${BENCHALIGN_VENV:-.venv}
REQS=(requirements.txt)
for extra in "$@"; do REQS+=("$extra"); done
stamp="$VENV/.benchalign-reqs.sha256"
want=$(cat "${REQS[@]}" | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-python: creating $VENV with $($PY --version)" >&2
  "$PY" -m venv "$VENV"
fi
echo "setup-python: installing ${REQS[*]} into $VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || true
args=()
for r in "${REQS[@]}"; do args+=(-r "$r"); done
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" >&2
echo "$want" > "$stamp"
