/**
 * Default tolerances by precision, and their per-output overrides. docs/alignment.md explains
 * each default.
 */
import { BenchalignError } from '../errors.js';
import type { Tolerance } from '../model/alignment.js';

export const ALIGN_PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8'] as const;
export type AlignPrecision = (typeof ALIGN_PRECISIONS)[number];

/** Per-output tolerance overrides: by output name, or `'*'` for every output. */
export type ToleranceOverrides = Record<string, Partial<Tolerance>>;

const DEFAULTS: Record<AlignPrecision, Tolerance> = {
  fp32: { atol: 1e-4, rtol: 1e-4, equalNan: true },
  fp16: { atol: 1e-2, rtol: 1e-2, equalNan: true },
  bf16: { atol: 5e-2, rtol: 5e-2, equalNan: true },
  int8: { atol: 0, rtol: 0, elementwise: false, cosineMin: 0.99, snrMinDb: 15, equalNan: true },
};

export function isAlignPrecision(s: string): s is AlignPrecision {
  return (ALIGN_PRECISIONS as readonly string[]).includes(s);
}

/** The default tolerance for outputs of an engine running at `precision` (a fresh object). */
export function defaultTolerance(precision: AlignPrecision): Tolerance {
  const t = DEFAULTS[precision];
  if (t === undefined) {
    throw new BenchalignError('E_USAGE', `unknown precision "${String(precision)}"`, { expected: ALIGN_PRECISIONS.join('|') });
  }
  return { ...t };
}

function applyOverride(base: Tolerance, o: Partial<Tolerance> | undefined): Tolerance {
  if (o === undefined) return base;
  const out: Tolerance = { ...base };
  for (const [k, v] of Object.entries(o) as [keyof Tolerance, Tolerance[keyof Tolerance]][]) {
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  if ((o.atol !== undefined || o.rtol !== undefined) && o.elementwise === undefined) out.elementwise = true;
  return out;
}

/**
 * The tolerance for output `name`: the precision default, then `overrides['*']`, then
 * `overrides[name]`. Setting atol or rtol turns the elementwise rule on (int8 has it off)
 * unless the same override says `elementwise: false`.
 */
export function resolveTolerance(precision: AlignPrecision, name: string, overrides: ToleranceOverrides = {}): Tolerance {
  return applyOverride(applyOverride(defaultTolerance(precision), overrides['*']), overrides[name]);
}
