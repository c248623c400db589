#!/usr/bin/env bash
# npm run test:arm (opt-in, root): the smoke suite through a runner agent that runs as arm64.
# An arm64 Debian root is made with debootstrap (once; its default mirror), qemu-aarch64 user
# emulation is registered with binfmt_misc (so the agent's engine workers, arm64 node
# processes too, start), and `benchalign run --agents` sends the jobs to a stdio agent whose
# node is the root's arm64 node (QEMU_LD_PREFIX points qemu at the root's libraries). The
# agent loads onnxruntime-node's linux-arm64 binary. Emulated timings mean nothing, so the run
# is accuracy-only: it checks that the agent reports arch=arm64 and that every job aligns.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${BENCHALIGN_ARM_ROOT:-/var/tmp/benchalign-arm/rootfs}
SUITE=${1:-suites/smoke.yaml}
if [ "$(id -u)" != 0 ]; then
  echo "test:arm: needs root (debootstrap, binfmt_misc registration)" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null || [ ! -x /usr/bin/qemu-aarch64-static ]; then
  echo "test:arm: installing debootstrap and qemu-user-static (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap qemu-user-static >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "test:arm: registering qemu-aarch64 with binfmt_misc" >&2
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi
if [ ! -x "$ROOT/usr/bin/node" ]; then
  echo "test:arm: making the arm64 Debian root $ROOT (debootstrap, a few minutes)" >&2
  rm -rf "$ROOT"
  mkdir -p "$(dirname "$ROOT")"
  debootstrap --arch=arm64 --variant=minbase --include=nodejs trixie "$ROOT" >&2
fi
export QEMU_LD_PREFIX="$ROOT"
echo "test:arm: $("$ROOT/usr/bin/node" -p '`node ${process.version} ${process.arch}`') under qemu-aarch64" >&2
npm run --silent build
WORK=$(mktemp -d /tmp/benchalign-arm-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# FAKE /proc/cpuinfo, for emulation only: qemu-user 7.2 shows the host's x86 /proc/cpuinfo to
# arm64 processes, and onnxruntime's cpuinfo library crashes (SIGSEGV) parsing it. The agent
# runs in its own mount namespace (unshare -m) where a Cortex-A72 description is bind-mounted
# over /proc/cpuinfo; nothing changes for other processes. On a real ARM board none of this
# is needed.
for i in 0 1; do
  printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
done > "$WORK/cpuinfo"
cat > "$WORK/agents.yaml" <<YAML
agents:
  - name: arm64-qemu
    url: stdio
    command: [unshare, -m, sh, -c, 'mount --bind "\$0" /proc/cpuinfo && shift && exec "\$@"', "$WORK/cpuinfo", x,
              "$ROOT/usr/bin/node", "$PWD/bin/benchalign.js", agent, stdio, --work-dir, "$WORK/agent", --labels, emulated=qemu]
    connectTimeoutMs: 300000
YAML
node bin/benchalign.js run "$SUITE" --agents "$WORK/agents.yaml" --accuracy-only --no-store --out "$WORK/run" --json > "$WORK/results.json" ||
  echo "test:arm: benchalign run exited with $?" >&2
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const agent = (r.run.agents ?? [])[0];
  const problems = [];
  if (!agent || agent.labels.arch !== "arm64") problems.push(`agent labels ${JSON.stringify(agent?.labels)}: expected arch=arm64`);
  for (const j of r.jobs) {
    if (j.status !== "ok") problems.push(`${j.key}: ${j.status} ${j.reason ?? ""}`);
    if (j.agent?.name !== "arm64-qemu") problems.push(`${j.key}: ran on ${j.agent?.name}`);
    for (const o of j.alignment ?? []) console.log(`${j.key} ${o.name}: ${o.passed ? "pass" : "FAIL"}, max abs err ${o.maxAbsError}, cosine ${o.cosine}`);
  }
  if (r.jobs.length === 0) problems.push("no job ran");
  if (problems.length > 0) { console.error(`test:arm: FAILED\n  ${problems.join("\n  ")}`); process.exit(1); }
  console.log(`test:arm: ${r.jobs.length} job(s) ok on ${agent.name} (${Object.entries(agent.labels).map(([k, v]) => `${k}=${v}`).join(", ")})`);
' "$WORK/results.json"
