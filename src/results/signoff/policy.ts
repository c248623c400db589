/**
 * The sign-off policy file (YAML or JSON): which jobs must be measured, and the criteria each
 * matching job must meet. A zod schema (strict objects, every field described; exported to
 * docs/signoff-policy.schema.json) and a loader that reports every problem at once with its
 * path and, for YAML, its line and column (`criteria[2].p99Ms: expected a positive number`).
 * See docs/signoff.md.
 */
import { z } from 'zod';
import { strict } from '../../config/schema-kit.js';
import { BenchalignError } from '../../errors.js';
import { describeValue, formatPath, formatProblem, problemsFromZod, type PathSegment, type SuiteProblem } from '../../config/errors.js';
import { readConfig } from '../../config/reader.js';
import { PRECISIONS } from '../../model/record.js';

/** The same marker as the suite schema's strict objects, so unknown-key messages list the known keys. */
const positive = (description: string) => z.number().gt(0).describe(description);
const fraction = (description: string) => z.number().min(0).lt(1).describe(description);
const glob = (what: string) =>
  z.string().min(1).default('*').describe(`${what}. A glob: "*" any characters, "?" one character. Default "*" (every one).`);

const SELECTOR = {
  model: glob('Model name as in the suite (e.g. "cnn", "zoo/*")'),
  engine: glob('Engine name ("onnxruntime") or variant, the job key after the model: "<engine>/<precision>" or "<engine>/<precision>/<label>"'),
  device: glob(
    'Device: matched against the fingerprint’s hostname, CPU model, arch, OS and GPU models (case-insensitive), or a prefix of at least 6 hex digits of the fingerprint hash',
  ),
};

export const ThroughputCriterionSchema = strict(
  {
    minPerSec: positive('Throughput floor, inferences (items) per second.'),
    concurrency: z.int().min(1).default(1).describe('At this many concurrent requests (the suite’s measurement.concurrency must include it). Default 1.'),
    batchSize: z.int().min(1).optional().describe('At this batch size. Default: the best over the batch sizes measured.'),
  },
  'Throughput at least a floor, at one concurrency level.',
  { id: 'ThroughputCriterion' },
);

export const CriterionSchema = strict(
  {
    ...SELECTOR,
    precision: z.enum(PRECISIONS).optional().describe('Only jobs of this precision. Default: every precision.'),
    alignment: z.boolean().optional().describe('true: every output of the job must pass its alignment check against the reference (a job with no alignment fails).'),
    p50Ms: positive('p50 steady-state latency at most this, in milliseconds.').optional(),
    p99Ms: positive('p99 steady-state latency at most this, in milliseconds.').optional(),
    throughput: ThroughputCriterionSchema.optional(),
    peakMemoryMiB: positive('Peak resident memory (VmHWM) of the engine worker at most this, in MiB.').optional(),
    noRegression: z.boolean().optional().describe('true: no regression (latency p50/p99 or accuracy, as `benchalign regress` decides) against the baseline run (baselineTag).'),
  },
  'Criteria for every job that matches model, engine, device and precision. A criterion that matches no job fails.',
  { id: 'Criterion' },
);

export const RequiredSchema = strict(
  SELECTOR,
  'A model × engine × device that must have at least one job with status ok; anything else (no such job, or only skipped, errored or failed ones) fails the sign-off.',
  { id: 'Required' },
);

export const RegressSettingsSchema = strict(
  {
    metrics: z
      .array(z.enum(['p50', 'p99']))
      .min(1)
      .default(['p50', 'p99'])
      .describe('Latency metrics whose regression fails noRegression (accuracy always counts). Default [p50, p99].'),
    minEffectP50: fraction('Smallest p50 change that counts as a regression, as a fraction. Default 0.03.').default(0.03),
    minEffectP99: fraction('Smallest p99 change that counts as a regression, as a fraction. Default 0.05.').default(0.05),
    allowEnvChange: z.boolean().default(false).describe('Compare even when the device fingerprint or engine version changed since the baseline. Default false: such a job fails noRegression.'),
    inconclusive: z.enum(['fail', 'pass']).default('fail').describe('What an inconclusive comparison (CI too wide for the minimum effect) counts as. Default fail.'),
    missingBaseline: z
      .enum(['fail', 'pass'])
      .default('fail')
      .describe('What noRegression counts as when there is no baseline run, or the job is not in it (a first release, a new engine). Default fail.'),
  },
  'How noRegression compares against the baseline (the statistics of `benchalign regress`).',
  { id: 'RegressSettings' },
);

export const PolicyFileSchema = strict(
  {
    $schema: z.string().optional().describe('JSON Schema reference for editors; ignored.'),
    name: z.string().min(1).optional().describe('Name of the policy, shown in the checklist and the sign-off record.'),
    description: z.string().optional().describe('One line about the policy.'),
    baselineTag: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'expected a tag of letters, digits, ".", "_" or "-"' })
      .default('release')
      .describe('Store tag of the release baseline: noRegression compares against its most recent run, and --promote adds it. Default "release"; --baseline-tag overrides it.'),
    require: z.array(RequiredSchema).default([]).describe('Model × engine × device combinations that must be measured (a job with status ok). Default none.'),
    criteria: z.array(CriterionSchema).min(1).describe('Criteria, each for the jobs its selector matches.'),
    regress: RegressSettingsSchema.prefault({}),
  },
  'A benchalign sign-off policy: required engines and devices, and accuracy and performance criteria (docs/signoff.md).',
  { title: 'benchalign sign-off policy' },
);

export type PolicyFile = z.output<typeof PolicyFileSchema>;
export type Criterion = z.output<typeof CriterionSchema>;
export type Required = z.output<typeof RequiredSchema>;
export type RegressSettings = z.output<typeof RegressSettingsSchema>;

/** The checks a criterion can carry, in checklist order. */
export const CHECKS = ['alignment', 'p50Ms', 'p99Ms', 'throughput', 'peakMemoryMiB', 'noRegression'] as const;
export type CheckName = (typeof CHECKS)[number];

/** A loaded policy: the validated file, where it came from and the sha256 of its bytes. */
export interface Policy extends PolicyFile {
  path: string;
  sha256: string;
}

/** E_CONFIG with every problem of a policy file, one `path: message (line, col)` per line. */
export class PolicyConfigError extends BenchalignError {
  readonly problems: readonly SuiteProblem[];

  constructor(file: string, problems: SuiteProblem[]) {
    const n = problems.length;
    super('E_CONFIG', `${n} problem${n === 1 ? '' : 's'} in sign-off policy:\n${problems.map((p) => `  ${formatProblem(p).replace(/^\(suite\)/, '(policy)')}`).join('\n')}`, { file });
    this.name = 'PolicyConfigError';
    this.problems = problems;
  }
}

/** The JSON Schema of policy files (draft 7), as committed in docs/signoff-policy.schema.json. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PolicyFileSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
}

/** docs/signoff-policy.schema.json's exact text. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}

type Problem = { path: PathSegment[]; message: string };
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function reword(p: Problem): Problem {
  const m = /^expected a number > 0, got (.*)$/.exec(p.message);
  return m ? { path: p.path, message: `expected a positive number, got ${m[1]}` } : p;
}

/** Checks the schema cannot: a criterion must check something. */
function checkCriteria(raw: Record<string, unknown>, problems: Problem[]): void {
  const criteria = Array.isArray(raw.criteria) ? raw.criteria : [];
  criteria.forEach((c, i) => {
    if (!isObj(c)) return;
    if (!CHECKS.some((k) => c[k] !== undefined && c[k] !== false)) {
      problems.push({ path: ['criteria', i], message: `checks nothing: expected at least one of ${CHECKS.join(', ')}` });
    }
  });
}

/** Validates a parsed policy document; `file` names it in errors. Throws PolicyConfigError. */
export function parsePolicy(raw: unknown, file: string, where?: (at: readonly PathSegment[]) => { line: number; col: number } | undefined): PolicyFile {
  if (!isObj(raw)) throw new PolicyConfigError(file, [{ path: '', message: `expected a mapping with criteria, got ${describeValue(raw)}` }]);
  const parsed = z.safeParse(PolicyFileSchema, raw);
  const problems: Problem[] = parsed.success ? [] : problemsFromZod(parsed.error.issues, PolicyFileSchema, raw).map(reword);
  checkCriteria(raw, problems);
  if (problems.length > 0 || !parsed.success) {
    const seen = new Map<string, SuiteProblem>();
    for (const p of problems) {
      const out: SuiteProblem = { path: formatPath(p.path), message: p.message, ...where?.(p.path) };
      seen.set(`${out.path}\0${out.message}`, out);
    }
    const byLine = (a: SuiteProblem, b: SuiteProblem) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);
    throw new PolicyConfigError(file, [...seen.values()].sort(byLine));
  }
  return parsed.data;
}

/** Loads and validates a policy file (YAML or JSON). Throws E_CONFIG (exit 2) naming every problem. */
export async function loadPolicy(file: string): Promise<Policy> {
  const { abs, sha256, raw, where } = await readConfig(
    file,
    'policy file',
    'a YAML or JSON sign-off policy (docs/signoff.md)',
    (f, problems) => new PolicyConfigError(f, problems),
  );
  const data = parsePolicy(raw, abs, where);
  return { ...data, path: abs, sha256 };
}
