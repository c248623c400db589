/**
 * Writes docs/suite.schema.json, docs/signoff-policy.schema.json and docs/agents.schema.json
 * from the zod schemas. Run: npx tsx scripts/export-schemas.ts (test/suite/schema-export.test.ts
 * and test/results/signoff.test.ts fail when a committed file is stale).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentsJsonSchemaText } from '../src/config/agents-schema.js';
import { policyJsonSchemaText } from '../src/results/signoff/policy.js';
import { suiteJsonSchemaText } from '../src/suite/schema.js';

for (const [name, text] of [
  ['suite.schema.json', suiteJsonSchemaText()],
  ['signoff-policy.schema.json', policyJsonSchemaText()],
  ['agents.schema.json', agentsJsonSchemaText()],
] as const) {
  const target = fileURLToPath(new URL(`../docs/${name}`, import.meta.url));
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
