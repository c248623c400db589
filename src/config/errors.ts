/**
 * Suite problems: each one has the path of the offending value (`models[1].reference`) and
 * says what was expected. All of a file's problems travel together in one SuiteConfigError.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BenchalignError } from '../errors.js';
import { knownKeysOf } from './schema-kit.js';

export type PathSegment = string | number;

export interface SuiteProblem {
  /** Dotted path in the suite document: `models[1].reference`, `tolerances["*"].rtol`. Empty for the document itself. */
  path: string;
  message: string;
  /** 1-based line and column in the suite file, when known. */
  line?: number;
  col?: number;
}

/** E_CONFIG with every problem of a suite, one `path: message` per line. */
export class SuiteConfigError extends BenchalignError {
  readonly problems: readonly SuiteProblem[];

  constructor(file: string, problems: SuiteProblem[]) {
    const n = problems.length;
    super('E_CONFIG', `${n} problem${n === 1 ? '' : 's'} in suite:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, { file });
    this.name = 'SuiteConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: SuiteProblem): string {
  const where = p.line !== undefined ? ` (line ${p.line}${p.col !== undefined ? `, col ${p.col}` : ''})` : '';
  return `${p.path === '' ? '(suite)' : p.path}: ${p.message}${where}`;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PathSegment, unknown>)[seg];
  }
  return cur;
}

function schemaAt(schema: z.core.$ZodType, path: readonly PathSegment[], root: unknown, resolveUnion = true): z.core.$ZodType | undefined {
  let cur: z.core.$ZodType | undefined = schema;
  const walked: PathSegment[] = [];
  for (const seg of [...path, null]) {
    while (cur !== undefined) {
      if (seg === null && !resolveUnion && cur._zod.def.type === 'union') break;
      const def = cur._zod.def as unknown as Record<string, unknown> & { type: string };
      if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') {
        cur = def.innerType as z.core.$ZodType;
      } else if (def.type === 'union') {
        cur = pickUnionOption(def.options as z.core.$ZodType[], valueAt(root, walked));
      } else break;
    }
    if (seg === null || cur === undefined) break;
    const def = cur._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') cur = (def.shape as Record<string, z.core.$ZodType>)[String(seg)];
    else if (def.type === 'record') cur = def.valueType as z.core.$ZodType;
    else if (def.type === 'array') cur = def.element as z.core.$ZodType;
    else return undefined;
    walked.push(seg);
  }
  return cur;
}

type Issue = z.core.$ZodIssue;

const issueScore = (issues: readonly Issue[]) => issues.reduce((s, i) => s + (i.code === 'unrecognized_keys' ? i.keys.length : 1), 0);

function pickUnionOption(options: z.core.$ZodType[], value: unknown): z.core.$ZodType | undefined {
  let best: z.core.$ZodType | undefined;
  let bestScore = Infinity;
  for (const o of options) {
    const r = z.safeParse(o, value);
    const score = r.success ? 0 : issueScore(r.error.issues);
    if (score < bestScore) {
      bestScore = score;
      best = o;
    }
  }
  return best;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function flattenUnion(issue: Issue & { code: 'invalid_union' }): Issue[] {
  const branches = issue.errors;
  let best = branches[0] ?? [];
  for (const b of branches) if (issueScore(b) < issueScore(best)) best = b;
  return best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

function expectedWord(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

function tooSmall(issue: Issue & { code: 'too_small' }, input: unknown): string {
  const min = String(issue.minimum);
  if (issue.origin === 'array') return `expected at least ${min} item${min === '1' ? '' : 's'}, got ${Array.isArray(input) ? input.length : 0}`;
  if (issue.origin === 'string') return `expected at least ${min} character${min === '1' ? '' : 's'}`;
  return `expected a number ${issue.inclusive ? '>=' : '>'} ${min}, got ${describeValue(input)}`;
}

function tooBig(issue: Issue & { code: 'too_big' }, input: unknown): string {
  const max = String(issue.maximum);
  if (issue.origin === 'array') return `expected at most ${max} items`;
  return `expected a number ${issue.inclusive ? '<=' : '<'} ${max}, got ${describeValue(input)}`;
}

/** Turns zod issues into problems, with unions resolved to their closest branch and unknown keys one per key. */
export function problemsFromZod(issues: readonly Issue[], schema: z.core.$ZodType, root: unknown): Array<{ path: PathSegment[]; message: string }> {
  const out: Array<{ path: PathSegment[]; message: string }> = [];
  const visit = (issue: Issue) => {
    const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
    const input = valueAt(root, path);
    switch (issue.code) {
      case 'invalid_union': {
        if (issue.errors.length > 0) {
          for (const i of flattenUnion(issue)) visit(i);
          return;
        }
        type UnionDef = { discriminator?: string; options?: z.core.$ZodType[] } | undefined;
        const defAt = (p: PathSegment[]) => schemaAt(schema, p, root, false)?._zod.def as unknown as UnionDef;
        let objPath = path;
        let def = defAt(path);
        if (def?.discriminator === undefined && path.length > 0 && defAt(path.slice(0, -1))?.discriminator === path[path.length - 1]) {
          objPath = path.slice(0, -1);
          def = defAt(objPath);
        }
        const key = def?.discriminator;
        if (key === undefined || def?.options === undefined) {
          out.push({ path, message: issue.message });
          return;
        }
        const values = def.options.flatMap((o) => [...((o._zod as unknown as { propValues?: Record<string, Set<unknown>> }).propValues?.[key] ?? [])]);
        const obj = valueAt(root, objPath);
        const got = isRecord(obj) ? obj[key] : undefined;
        out.push({
          path: [...objPath, key],
          message: got === undefined ? `required: expected one of ${values.map(String).join('|')}` : `expected one of ${values.map(String).join('|')}, got ${describeValue(got)}`,
        });
        return;
      }
      case 'unrecognized_keys': {
        const known = knownKeysOf(schemaAt(schema, path, root)) ?? [];
        for (const key of issue.keys) {
          const hint = suggest(key, known);
          const list = known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
          out.push({ path: [...path, key], message: hint !== undefined ? `unknown key; did you mean "${hint}"?` : `unknown key${list}` });
        }
        return;
      }
      case 'invalid_type':
        out.push({
          path,
          message: input === undefined ? `required: expected ${expectedWord(issue.expected)}` : `expected ${expectedWord(issue.expected)}, got ${describeValue(input)}`,
        });
        return;
      case 'invalid_value':
        out.push({ path, message: `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map(String).join('|')}`}, got ${describeValue(input)}` });
        return;
      case 'invalid_format':
        out.push({ path, message: `${issue.message}, got ${describeValue(input)}` });
        return;
      case 'too_small':
        out.push({ path, message: tooSmall(issue, input) });
        return;
      case 'too_big':
        out.push({ path, message: tooBig(issue, input) });
        return;
      default:
        out.push({ path, message: issue.message });
    }
  };
  for (const issue of issues) visit(issue);
  return out;
}

/**
 * Reads a configuration file (suite, policy, agents file) whole; a missing or unreadable file
 * is E_CONFIG naming the absolute path, `what` it is and what was `expected`.
 */
export async function readConfigFile(file: string, what: string, expected: string): Promise<{ abs: string; bytes: Buffer }> {
  const abs = path.resolve(file);
  try {
    return { abs, bytes: await readFile(abs) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BenchalignError('E_CONFIG', code === 'ENOENT' ? `${what} not found` : `cannot read ${what} (${code ?? String(e)})`, { file: abs, expected, cause: e });
  }
}
