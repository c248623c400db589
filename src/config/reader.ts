/**
 * The one reader of configuration files (suite, agents file, sign-off policy): read the bytes,
 * parse YAML (JSON is YAML), turn syntax errors and alias bombs into located problems, and
 * give each later problem its line and column through `where`.
 */
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { readConfigFile, type PathSegment, type SuiteProblem } from './errors.js';

/** At most this many alias expansions in one document (a "billion laughs" file stops here). */
export const DEFAULT_MAX_ALIAS_COUNT = 1000;

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

/** Makes the typed error of one kind of config file (SuiteConfigError, PolicyConfigError, ...). */
export type ConfigErrorFactory = (file: string, problems: SuiteProblem[]) => Error;

interface YamlNode {
  range?: [number, number, number] | null;
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

/** Parses config text; syntax errors and alias bombs throw `fail(file, problems)`. */
export function parseConfigText(text: string, file: string, fail: ConfigErrorFactory, maxAliasCount = DEFAULT_MAX_ALIAS_COUNT): ParsedConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
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
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw fail(file, [{ path: '', message: `cannot expand the document's aliases (${message}); at most ${maxAliasCount} alias expansions are allowed` }]);
  }
  return { raw, where: (at) => locate(doc, lc, at) };
}

/** Reads and parses a config file; E_CONFIG when it cannot be read, `fail(...)` when it does not parse. */
export async function readConfig(file: string, what: string, expected: string, fail: ConfigErrorFactory, maxAliasCount?: number): Promise<ReadConfig> {
  const { abs, bytes } = await readConfigFile(file, what, expected);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { abs, sha256, ...parseConfigText(bytes.toString('utf8'), abs, fail, maxAliasCount) };
}
