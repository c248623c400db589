/**
 * CI sets BENCHALIGN_REQUIRE_ENGINES (comma-separated) to the engines that must be present
 * on the machine; an unavailable one fails here instead of letting its tests skip.
 * ONNX Runtime comes from npm and is always required.
 */
import { describe, expect, it } from 'vitest';
import { getRunner } from '../../src/runners/registry.js';

const required = [
  ...new Set(['onnxruntime', ...(process.env.BENCHALIGN_REQUIRE_ENGINES ?? '').split(',').map((s) => s.trim()).filter(Boolean)]),
];

describe('engines required on this machine', () => {
  it.each(required)('%s is available', async (name) => {
    const a = await getRunner(name).available();
    if (!a.available) console.error(`required engine ${name} is unavailable: ${a.reason}`);
    expect(a).toMatchObject({ available: true });
    if (a.available) expect(a.version).toMatch(/^\d+\.\d+/);
  });
});
