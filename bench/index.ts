/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line)
 * and prints what each measures, with ratios taken side by side in the same run.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const f of files) {
  console.log(`\n== ${f.replace('.bench.ts', '')} ==`);
  const mod = (await import(new URL(f, import.meta.url).href)) as { run: () => Promise<void> };
  await mod.run();
}
