// The throughput sweeps of a zoo run (scripts/zoo.sh prints this after the report's table):
// items/s per engine at each (concurrency, batch) point the run measured, for the models that
// have more than one point. Usage: node scripts/zoo-sweeps.mjs <run folder>/results.json
import { readFileSync } from 'node:fs';
import process from 'node:process';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/zoo-sweeps.mjs <results.json>\n');
  process.exit(2);
}
const results = JSON.parse(readFileSync(file, 'utf8'));
const points = ['1/1', '2/1', '1/4', '1/8'];
const label = (k) => {
  const [c, b] = k.split('/');
  return b === '1' ? `c${c}` : `b${b}`;
};
const lines = [
  '| model | engine | ' + points.map((k) => `${label(k)} items/s`).join(' | ') + ' |',
  '| --- | --- | ' + points.map(() => '---').join(' | ') + ' |',
];
for (const job of results.jobs) {
  const tp = job.throughput ?? [];
  if (tp.length < 2) continue;
  const by = new Map(tp.map((p) => [`${p.concurrency}/${p.batchSize}`, p.itemsPerSec]));
  const cells = points.map((k) => (by.has(k) ? by.get(k).toPrecision(4) : '–'));
  lines.push(`| ${job.model.name} | ${job.engine.name} | ${cells.join(' | ')} |`);
}
process.stdout.write(`## Throughput sweeps (c = concurrent requests at batch 1, b = batch size at concurrency 1)\n\n${lines.join('\n')}\n`);
