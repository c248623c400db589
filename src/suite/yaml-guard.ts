/**
 * YAML parsing that hostile input cannot turn into a crash or a flood: an alias bomb, a
 * document nested thousands of levels deep (which overflows the parser's stack) or one nested
 * past {@link MAX_DEPTH} is one E_CONFIG error of one line, exit 2. Used for every YAML
 * configuration file (suite, sign-off policy, agents file).
 */
import { parseDocument, type Document, type LineCounter } from 'yaml';
import { BenchalignError } from '../errors.js';

/** Deepest nesting of mappings and lists a configuration file may have. */
export const MAX_DEPTH = 64;
/** Most alias expansions while building the value (the yaml package's guard). */
export const MAX_ALIAS_COUNT = 1000;

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

/** parseDocument, with a nesting too deep for the parser's stack (or past MAX_DEPTH) reported as one problem. */
export function parseYamlGuarded(file: string, text: string, lineCounter?: LineCounter): Document {
  if (lexicalDepthExceeded(text)) throw tooDeep(file);
  let doc: Document;
  try {
    doc = parseDocument(text, { ...(lineCounter !== undefined ? { lineCounter } : {}), prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(file);
    throw e;
  }
  if (doc.errors.some((err) => /call stack/i.test(err.message))) throw tooDeep(file);
  return doc;
}

/** The document's value; an alias bomb or a stack overflow is one problem. */
export function toJsGuarded(file: string, doc: Document, maxAliasCount = MAX_ALIAS_COUNT): unknown {
  try {
    return doc.toJS({ maxAliasCount });
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(file);
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new BenchalignError('E_CONFIG', `YAML aliases expand past ${maxAliasCount} nodes (an alias bomb?)`, { file, expected: 'aliases that each stand for a small value' });
    }
    throw e;
  }
}
