/** The sign-off record (signoff.json), its hashes, and its Markdown rendering (signoff.md). */
import { createHash } from 'node:crypto';
import type { DeviceFingerprint, RunResults } from '../../model/record.js';
import { checklistLines, type SignoffCheck } from './evaluate.js';

export const SIGNOFF_SCHEMA_VERSION = 1;

/**
 * Canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no whitespace,
 * numbers as JavaScript prints them, undefined fields left out, non-finite numbers as null
 * (as JSON.stringify writes them). The same run read from results.json or from the store
 * gives the same text.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined || typeof x === 'function' ? 'null' : canonicalJson(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined && typeof o[k] !== 'function').sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** sha256 (hex) of the canonical JSON of a run's results. */
export function resultsSha256(results: RunResults): string {
  return createHash('sha256').update(canonicalJson(results), 'utf8').digest('hex');
}

export interface SignoffRecord {
  schemaVersion: typeof SIGNOFF_SCHEMA_VERSION;
  tool: { name: 'benchalign'; version: string };
  createdAt: string;
  verdict: 'pass' | 'fail';
  /** One line: `SIGN-OFF PASSED: 7 of 7 checks` or `SIGN-OFF FAILED: 2 of 7 checks failed`. */
  summary: string;
  policy: { path: string; sha256: string; name?: string; baselineTag: string };
  run: {
    id: string;
    startedAt: string;
    endedAt?: string;
    status: RunResults['run']['status'];
    mode: RunResults['run']['mode'];
    /** What the sign-off was given: a suite it ran, a run in the store, or a results file. */
    source: 'suite' | 'store' | 'file';
    ref: string;
  };
  suite: RunResults['suite'];
  /** sha256 of the canonical JSON of the run's results (see canonicalJson). */
  resultsSha256: string;
  /** The commit the store recorded with the run, or the checkout's at sign-off time. */
  git: { commit: string | null; branch: string | null; source: 'store' | 'checkout' };
  /** Every device fingerprint of the run, once each (by hash). */
  devices: DeviceFingerprint[];
  baseline: { tag: string; runId?: string; note?: string };
  checks: SignoffCheck[];
  counts: { passed: number; failed: number };
  promotion?: { tag: string; promoted: boolean; note: string };
}

/** The run's device fingerprints, once each, run-level first. */
export function devicesOf(results: RunResults): DeviceFingerprint[] {
  const seen = new Map<string, DeviceFingerprint>();
  for (const d of [results.device, ...results.jobs.map((j) => j.device)]) if (d && !seen.has(d.hash)) seen.set(d.hash, d);
  return [...seen.values()];
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** signoff.md: verdict, identity (hashes, commit, devices), and the checklist as a table. */
export function signoffMarkdown(r: SignoffRecord): string {
  const lines: string[] = [];
  lines.push(`# benchalign sign-off: ${r.verdict === 'pass' ? '✔ PASSED' : '✘ FAILED'}`, '', r.summary, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| policy | ${esc(r.policy.name ?? r.policy.path)} (\`${r.policy.path}\`), sha256 \`${r.policy.sha256}\` |`);
  lines.push(`| run | \`${r.run.id}\` (${r.run.status}, ${r.run.mode}), from ${r.run.source} \`${esc(r.run.ref)}\`, started ${r.run.startedAt} |`);
  lines.push(`| suite | ${esc(r.suite.name)}, sha256 \`${r.suite.sha256}\` |`);
  lines.push(`| results sha256 | \`${r.resultsSha256}\` (canonical JSON) |`);
  lines.push(`| git commit | ${r.git.commit ? `\`${r.git.commit}\`${r.git.branch ? ` (${esc(r.git.branch)})` : ''}` : 'unknown'}, from the ${r.git.source} |`);
  lines.push(`| baseline | tag \`${r.baseline.tag}\`${r.baseline.runId ? `: run \`${r.baseline.runId}\`` : ''}${r.baseline.note ? ` (${esc(r.baseline.note)})` : ''} |`);
  if (r.promotion) lines.push(`| promotion | ${r.promotion.promoted ? `tagged \`${r.promotion.tag}\`` : 'not promoted'}: ${esc(r.promotion.note)} |`);
  lines.push('');
  lines.push('## Devices', '', '| hash | host | CPU | cores | memory | OS | GPUs | engines |', '|---|---|---|---:|---:|---|---|---|');
  for (const d of r.devices) {
    const gpus = d.gpus.map((g) => `${g.model}${g.driver ? ` (driver ${g.driver})` : ''}`).join(', ') || 'none';
    const engines = Object.entries(d.engineVersions).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| \`${d.hash.slice(0, 12)}\` | ${esc(d.hostname)} | ${esc(d.cpuModel)} | ${d.cpuCores} | ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB | ${esc(`${d.os} ${d.kernel}`)} | ${esc(gpus)} | ${esc(engines)} |`);
  }
  if (r.devices.length === 0) lines.push('| (none recorded) | | | | | | | |');
  lines.push('', '## Checklist', '', '| | source | job | check | why |', '|---|---|---|---|---|');
  for (const c of r.checks) lines.push(`| ${c.passed ? '✔' : '✘'} | ${c.source} | ${c.job !== undefined ? `\`${esc(c.job)}\`` : ''} | ${esc(c.text)} | ${esc(c.why ?? '')} |`);
  lines.push('');
  return lines.join('\n');
}

/** The terminal output: header, one line per check, summary. */
export function signoffText(r: SignoffRecord): string {
  const head = `benchalign signoff: policy ${r.policy.name ?? r.policy.path} (sha256 ${r.policy.sha256.slice(0, 12)}), run ${r.run.id}, results sha256 ${r.resultsSha256.slice(0, 12)}`;
  const promo = r.promotion ? [`${r.promotion.promoted ? 'Promoted' : 'Not promoted'}: ${r.promotion.note}`] : [];
  return [head, ...checklistLines(r.checks).map((l) => `  ${l}`), r.summary, ...promo].join('\n');
}
