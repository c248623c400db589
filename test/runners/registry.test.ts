import { afterEach, describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { engineNames, getRunner, listEngines, registerRunner } from '../../src/runners/registry.js';
import { OnnxRuntimeRunner } from '../../src/runners/onnxruntime/runner.js';

describe('runner registry', () => {
  const saved = process.env.BENCHALIGN_TEST_ENGINES;
  afterEach(() => {
    if (saved === undefined) delete process.env.BENCHALIGN_TEST_ENGINES;
    else process.env.BENCHALIGN_TEST_ENGINES = saved;
  });

  it('registers onnxruntime by default and hides the fake test-fault engine unless BENCHALIGN_TEST_ENGINES=1', () => {
    delete process.env.BENCHALIGN_TEST_ENGINES;
    expect(engineNames()).toContain('onnxruntime');
    expect(engineNames()).not.toContain('test-fault');
    expect(getRunner('onnxruntime')).toBeInstanceOf(OnnxRuntimeRunner);
    process.env.BENCHALIGN_TEST_ENGINES = '1';
    expect(engineNames()).toContain('test-fault');
    expect(getRunner('test-fault').name).toBe('test-fault');
  });

  it('lists each engine with its availability; onnxruntime is available here', async () => {
    delete process.env.BENCHALIGN_TEST_ENGINES;
    const engines = await listEngines();
    const ort = engines.find((e) => e.name === 'onnxruntime');
    expect(ort?.availability).toMatchObject({ available: true, version: '1.30.0' });
  });

  it('an unknown engine is a value, not a crash', async () => {
    const r = getRunner('tensorrt-does-not-exist');
    expect(await r.available()).toEqual({
      available: false,
      reason: expect.stringContaining('unknown engine "tensorrt-does-not-exist" (registered: onnxruntime'),
    });
    expect(() => r.inputMetadata()).toThrow(BenchalignError);
    await expect(r.deactivate()).resolves.toBeUndefined();
  });

  it('an engine whose worker cannot start reports why', async () => {
    registerRunner({
      name: 'broken',
      create: () =>
        new (class extends OnnxRuntimeRunner {
          protected override workerCommand() {
            return { command: '/nonexistent/engine-worker', args: [] };
          }
        })(),
    });
    const a = (await listEngines()).find((e) => e.name === 'broken')?.availability;
    expect(a).toEqual({ available: false, reason: expect.stringMatching(/cannot start \/nonexistent\/engine-worker: .*ENOENT/) });
  });
});
