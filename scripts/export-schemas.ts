/**
 * Writes docs/suite.schema.json and docs/agents.schema.json from the zod schemas. Run: npx tsx scripts/export-schemas.ts
 * (test/suite/schema-export.test.ts fails when the committed file is stale).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentsJsonSchemaText } from '../src/agents/agents-schema.js';
import { suiteJsonSchemaText } from '../src/suite/schema.js';

const target = fileURLToPath(new URL('../docs/suite.schema.json', import.meta.url));
writeFileSync(target, suiteJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
const agentsTarget = fileURLToPath(new URL('../docs/agents.schema.json', import.meta.url));
writeFileSync(agentsTarget, agentsJsonSchemaText());
process.stdout.write(`wrote ${agentsTarget}\n`);
