import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SuiteFileSchema, suiteJsonSchemaText } from '../../src/suite/schema.js';

const committed = readFileSync('docs/suite.schema.json', 'utf8');

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
function loadAjv(): { compile(schema: unknown): Validate } | undefined {
  try {
    const Ajv = createRequire(import.meta.url)('ajv') as new (o: object) => { compile(schema: unknown): Validate };
    return new Ajv({ allErrors: true });
  } catch {
    return undefined;
  }
}
const ajv = loadAjv();

describe('docs/suite.schema.json', () => {
  it('equals a fresh export of the zod schema (run npx tsx scripts/export-schemas.ts)', () => {
    expect(committed).toBe(suiteJsonSchemaText());
  });

  it('is strict and documents the fields editors complete', () => {
    const schema = JSON.parse(committed) as { additionalProperties: boolean; required: string[]; definitions: Record<string, { properties: Record<string, { description?: string }> }> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['models', 'engines']);
    expect(schema.definitions.Measurement?.properties.maxDurationMs?.description).toMatch(/milliseconds.*Default 10000/);
    expect(Object.keys(schema.definitions.Engine?.properties ?? {})).toEqual(['name', 'precision', 'options', 'label', 'agents']);
  });

  it.skipIf(ajv === undefined)('accepts suites/smoke.yaml and rejects what the loader rejects', () => {
    const validate = ajv!.compile(JSON.parse(committed));
    expect(validate(parse(readFileSync('suites/smoke.yaml', 'utf8')))).toBe(true);
    expect(validate({ models: [{ name: 'a', path: 'a.onnx', topk: 1 }], engines: [{ name: 'ort' }] })).toBe(false);
    expect(validate({ models: [{ name: 'a', path: 'a.onnx' }], engines: [{ name: 'ort', precision: 'fp8' }] })).toBe(false);
    expect(validate({ models: [{ onnxTests: 'cases' }], engines: [{ name: 'ort' }] })).toBe(true);
  });
});

describe('docs/suites.md', () => {
  it('shows a complete example that the schema accepts', () => {
    const blocks = [...readFileSync('docs/suites.md', 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const complete = blocks.filter((b) => /^models:/m.test(b) && /^engines:/m.test(b));
    expect(complete.length).toBeGreaterThan(0);
    for (const b of complete) {
      const r = SuiteFileSchema.safeParse(parse(b));
      expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    }
  });
});
