#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm ci builds dist/ through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('benchalign: dist/ is missing; run `npm ci` (or `npm run build`) in the benchalign folder first.');
  process.exit(3);
}
const { main } = await import(compiled.href);
// The runner agent (runner-agents/) is an application on top of src/: it adds its command here.
const { registerAgent } = await import(new URL('../dist/runner-agents/cli.js', import.meta.url).href);
process.exitCode = await main(process.argv, [registerAgent]);
