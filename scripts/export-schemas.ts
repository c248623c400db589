/**
 * Writes docs/suite.schema.json from the zod suite schema. Run: npx tsx scripts/export-schemas.ts
 * (test/suite/schema-export.test.ts fails when the committed file is stale).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suiteJsonSchemaText } from '../src/suite/schema.js';

const target = fileURLToPath(new URL('../docs/suite.schema.json', import.meta.url));
writeFileSync(target, suiteJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
