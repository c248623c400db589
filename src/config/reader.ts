/**
 * The one reader of configuration files (suite, agents file, sign-off policy): read the bytes,
 * parse YAML (JSON is YAML), turn syntax errors into located problems, and give each later
 * problem its line and column through `where`.
 *
 * Hostile input cannot turn into a crash or a flood: an alias bomb, a document nested thousands
 * of levels deep (which overflows the parser's stack) or one nested past {@link MAX_DEPTH}, and
 * a file over the caller's size limit are each one E_CONFIG error of one line, exit 2.
 */
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { BenchalignError } from '../errors.js';
import { readConfigFile, type PathSegment, type SuiteProblem } from './errors.js';

/** At most this many alias expansions in one document (a "billion laughs" file stops here). */
export const DEFAULT_MAX_ALIAS_COUNT = 1000;
/** Deepest nesting of mappings and lists a configuration file may have. */
export const MAX_DEPTH = 64;

export interface ParsedConfig {
  /** The document as plain data. */
  raw: unknown;
  /** Line and column of the value at `at`, when the document has it. */
  where: (at: readonly PathSegment[]) => { line: number; col: number } | undefined;
}

export interface ReadConfig extends ParsedConfig {
  abs: string;
  /** sha256 of the file's bytes, lowercase hex. */
  sha256: string;
}

export interface ReadConfigOptions {
  /** Most alias expansions while building the value. */
  maxAliasCount?: number;
  /** Largest file read, and what to say when it is over (`expected` of the error). */
  maxBytes?: { bytes: number; why: string; expected: string };
}

/** Makes the typed error of one kind of config file (SuiteConfigError, PolicyConfigError, ...). */
export type ConfigErrorFactory = (file: string, problems: SuiteProblem[]) => Error;

interface YamlNode {
  range?: [number, number, number] | null;
}

const isStackOverflow = (e: unknown): boolean => e instanceof RangeError && /call stack/i.test(e.message);

function tooDeep(file: string): BenchalignError {
  return new BenchalignError('E_CONFIG', `nested more than ${MAX_DEPTH} levels deep`, { file, expected: 'a configuration file, not a deeply nested document' });
}

/** Whether flow brackets and block indentation nest deeper than MAX_DEPTH, found in one pass without parsing. */
export function lexicalDepthExceeded(text: string): boolean {
  let flow = 0;
  const indents: number[] = [];
  let quote: string | undefined;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      else if (c === '\n') lineStart = true;
      continue;
    }
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '-') {
        indent++;
        continue;
      }
      if (c === '#') {
        lineStart = false;
        continue;
      }
      lineStart = false;
      if (flow === 0) {
        while (indents.length > 0 && (indents[indents.length - 1] as number) >= indent) indents.pop();
        indents.push(indent);
        if (indents.length > MAX_DEPTH + 1) return true;
      }
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) {
      while (i < text.length && text[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      if (++flow + indents.length > MAX_DEPTH + 1) return true;
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return false;
}

function locate(doc: Document, lc: LineCounter, at: readonly PathSegment[]): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let range: [number, number, number] | null | undefined = (doc.contents as YamlNode | null)?.range;
  for (const seg of at) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) break;
      range = (pair.key as YamlNode | null)?.range ?? range;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      range = (item as YamlNode).range ?? range;
      node = item;
    } else break;
  }
  if (range === null || range === undefined) return undefined;
  return lc.linePos(range[0]);
}

/**
 * Parses config text. Syntax errors throw `fail(file, problems)`; nesting too deep and alias
 * bombs throw one E_CONFIG BenchalignError (one line).
 */
export function parseConfigText(text: string, file: string, fail: ConfigErrorFactory, maxAliasCount = DEFAULT_MAX_ALIAS_COUNT): ParsedConfig {
  if (lexicalDepthExceeded(text)) throw tooDeep(file);
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(file);
    throw e;
  }
  if (doc.errors.some((err) => /call stack/i.test(err.message))) throw tooDeep(file);
  if (doc.errors.length > 0) {
    throw fail(
      file,
      doc.errors.map((err) => ({ path: '', message: `syntax error: ${err.message.split('\n')[0] ?? err.code}`, ...lc.linePos(err.pos[0]) })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount });
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(file);
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new BenchalignError('E_CONFIG', `YAML aliases expand past ${maxAliasCount} nodes (an alias bomb?)`, {
        file,
        expected: `aliases that each stand for a small value (at most ${maxAliasCount} alias expansions)`,
      });
    }
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw fail(file, [{ path: '', message: `cannot build the document's value (${message})` }]);
  }
  return { raw, where: (at) => locate(doc, lc, at) };
}

/**
 * Reads and parses a config file; E_CONFIG when it cannot be read or is over `maxBytes`,
 * `fail(...)` when it does not parse.
 */
export async function readConfig(file: string, what: string, expected: string, fail: ConfigErrorFactory, options: ReadConfigOptions = {}): Promise<ReadConfig> {
  const { abs, bytes } = await readConfigFile(file, what, expected);
  const max = options.maxBytes;
  if (max !== undefined && bytes.length > max.bytes) {
    throw new BenchalignError('E_CONFIG', `${what} is ${(bytes.length / 2 ** 20).toFixed(1)} MiB, over the ${max.bytes / 2 ** 20} MiB limit (${max.why})`, {
      file: abs,
      expected: max.expected,
    });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { abs, sha256, ...parseConfigText(bytes.toString('utf8'), abs, fail, options.maxAliasCount) };
}
