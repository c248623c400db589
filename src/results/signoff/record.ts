/** The sign-off record (signoff.json) and its hashes; its renderings (signoff.md, the terminal checklist) are in src/reports/signoff.ts. */
import { createHash } from 'node:crypto';
import type { DeviceFingerprint, RunResults } from '../../model/record.js';
import type { SignoffCheck } from './evaluate.js';

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
