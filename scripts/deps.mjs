#!/usr/bin/env node
// Folder dependency check: `npm run deps`.
//
// The source tree is a stack of floors (docs/architecture.md). A folder may import its own files and any folder on
// a lower floor, never one above it; src/ never imports runner-agents/, which is an application built on src/.
// Type-only imports count: a type change ripples along them just the same.
//
// Exit 0 when every import points down, 1 with one line per offending import otherwise.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Lowest first. The src/ root files (errors.ts, version.ts) are the floor under everything. */
export const FLOORS = [
  'src/(root)',
  'src/rpc',
  'src/tensors',
  'src/model',
  'src/metrics',
  'src/alignment',
  'src/config',
  'src/suite',
  'src/runners',
  'src/execution',
  'src/agents',
  'src/results',
  'src/reports',
  'src/workflows',
  'src/zoo',
  'src/cli',
  'runner-agents',
];

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The folder a repository-relative path belongs to, or undefined outside src/ and runner-agents/. */
export function folderOf(rel) {
  const parts = rel.split(/[\\/]/);
  if (parts[0] === 'runner-agents') return 'runner-agents';
  if (parts[0] !== 'src') return undefined;
  return parts.length === 2 ? 'src/(root)' : `src/${parts[1]}`;
}

function listSources(root, dir, out) {
  let entries;
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return out;
  }
  for (const name of entries) {
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(join(root, rel)).isDirectory()) listSources(root, rel, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Strip comments so that an import written in a comment or doc example does not count. */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/**
 * Every relative import between folders under `root` (a repository root), and the rule each one breaks, if any.
 * @returns {{ edges: Map<string, Set<string>>, violations: string[] }}
 */
export function checkDeps(root) {
  const files = [...listSources(root, 'src', []), ...listSources(root, 'runner-agents', [])];
  const rank = new Map(FLOORS.map((f, i) => [f, i]));
  const edges = new Map();
  const violations = [];
  const unknown = new Set();
  for (const file of files) {
    const from = folderOf(file);
    if (!rank.has(from)) unknown.add(from);
    const text = stripComments(readFileSync(join(root, file), 'utf8'));
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      const target = relative(root, resolve(root, dirname(file), spec)).split(sep).join('/');
      const to = folderOf(target);
      if (!to || to === from) continue;
      if (!rank.has(to)) unknown.add(to);
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from).add(to);
      const where = `${file} imports ${spec}`;
      if (to === 'runner-agents' && from.startsWith('src/')) {
        violations.push(`${where}: src/ never imports runner-agents/ (an application built on src/)`);
      } else if (rank.has(from) && rank.has(to) && rank.get(to) > rank.get(from)) {
        violations.push(`${where}: ${from} may not import ${to}, which sits on a higher floor`);
      }
    }
  }
  for (const [a, tos] of edges) {
    for (const b of tos) {
      if (a < b && edges.get(b)?.has(a)) violations.push(`${a} and ${b} import each other`);
    }
  }
  for (const f of unknown) {
    violations.push(`${f} is on no floor: add it to FLOORS in scripts/deps.mjs and to docs/architecture.md`);
  }
  return { edges, violations };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const { edges, violations } = checkDeps(root);
  if (process.argv.includes('--list')) {
    for (const f of FLOORS) {
      if (edges.has(f)) console.log(`${f} -> ${[...edges.get(f)].sort((a, b) => FLOORS.indexOf(a) - FLOORS.indexOf(b)).join(', ')}`);
    }
  }
  if (violations.length > 0) {
    for (const v of violations) console.error(v);
    console.error(`deps: ${violations.length} import(s) against the floors (docs/architecture.md)`);
    process.exit(1);
  }
  const count = [...edges.values()].reduce((n, s) => n + s.size, 0);
  console.log(`deps: ok — ${edges.size} folders, ${count} folder edges, every import points down`);
}
