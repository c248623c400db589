#!/usr/bin/env bash
# Test environment: the Python engines venv (`benchalign engines setup`), then every fixture script
# test/fixtures/make_*.py, each writing into test/fixtures/generated/<name>/. A fixture set
# is regenerated only when its script changed (hash stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
# Debian's chromium for the browser tests of report.html (test/reports/html.browser.test.ts).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-test-env: installing chromium (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup-test-env: chromium is missing and this is not root, so it cannot be installed; the report.html browser tests will skip (apt-get install chromium)" >&2
  fi
fi
# Debian's PostgreSQL server for the PostgreSQL results store tests (test/results/store-postgres.test.ts) and the fleet queue tests (test/agents/fleet-queue.test.ts).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-test-env: installing postgresql (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup-test-env: postgresql is missing and this is not root, so it cannot be installed; the PostgreSQL store tests will skip (apt-get install postgresql)" >&2
  fi
fi
# iproute2 (ip netns) and Debian's OpenSSH server for the runner-agent tests (test/agents/dispatch-*.test.ts).
if ! command -v ip >/dev/null || [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-test-env: installing iproute2 and openssh-server (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 openssh-server openssh-client >/dev/null
  else
    echo "setup-test-env: ip or sshd is missing and this is not root; the network-namespace and ssh agent tests will skip" >&2
  fi
fi
node bin/benchalign.js engines setup
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
