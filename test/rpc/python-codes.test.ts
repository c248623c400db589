/**
 * The Python workers' JSON-RPC codes (runner-agents/python/benchalign_worker/protocol.py) are
 * the worker part of the one table in src/rpc/codes.ts: read from the imported module by a
 * real Python process, and no worker module writes a code as a bare number.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RpcCode } from '../../src/rpc/index.js';
import { PROTOCOL_VERSION } from '../../src/runners/protocol.js';
import { pythonPath, pythonWorkersDir } from '../../src/runners/python/env.js';

const hasPython = existsSync(pythonPath());
if (!hasPython) console.log(`skipped: no Python venv at ${pythonPath()} (npm test creates it; or run benchalign engines setup)`);

/** PARSE_ERROR -> ParseError */
function tsName(pyName: string): string {
  return pyName
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

const PRINT_CODES = `
import json, benchalign_worker.protocol as p
codes = {k: v for k, v in vars(p).items() if k.isupper() and type(v) is int and -32768 <= v <= -32000}
print(json.dumps({"codes": codes, "version": p.PROTOCOL_VERSION}))
`;

describe.skipIf(!hasPython)('Python worker error codes', () => {
  it('equal the TS table, name for name, and cover exactly its standard and worker codes', () => {
    const r = spawnSync(pythonPath(), ['-c', PRINT_CODES], { cwd: pythonWorkersDir(), encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const { codes, version } = JSON.parse(r.stdout) as { codes: Record<string, number>; version: number };
    const py = Object.fromEntries(Object.entries(codes).map(([k, v]) => [tsName(k), v]));
    const table = RpcCode as Record<string, number>;
    const worker = ['ParseError', 'InvalidRequest', 'MethodNotFound', 'InvalidParams', 'Internal', 'Engine', 'Unsupported', 'State'];
    expect(py).toEqual(Object.fromEntries(worker.map((n) => [n, table[n]])));
    expect(version).toBe(PROTOCOL_VERSION);
  });

  it('are written by name in the worker modules, never as a bare -32xxx number', () => {
    const dir = join(pythonWorkersDir(), 'benchalign_worker');
    const offenders: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.py'))) {
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/-32[0-7]\d\d\b/.test(line.replace(/#.*$/, '')) && !/^[A-Z_]+ = -32\d{3}$/.test(line.trim())) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
