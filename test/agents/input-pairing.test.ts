import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSuite } from '../../src/workflows/run.js';
import { writeNpy } from '../../src/tensors/npy.js';
import { writeSafetensors } from '../../src/tensors/safetensors.js';
import { readTensors } from '../../src/tensors/read.js';
import { MODELS, cnnModel, tempDir, writeSuite } from './helpers.js';

const ORT = { name: 'onnxruntime', options: { intraOpThreads: 1 } };

describe('inputs from a file', () => {
  it('a .npy holding one tensor is the input of a one-input model, whatever the file is called', async () => {
    const dir = tempDir('npy-input');
    const x = (await readTensors(join(MODELS, 'cnn/inputs.pt'))).tensors.get('input');
    if (x === undefined) throw new Error('cnn/inputs.pt has no "input"');
    const file = join(dir, 'fortran_input.npy');
    await writeNpy(file, x);
    expect([...(await readTensors(file)).tensors.keys()]).toEqual(['fortran_input']);
    const suite = writeSuite(dir, { models: [cnnModel({ inputs: { source: 'reference', file } })], engines: [ORT] });
    const { results, exitCode } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true, mode: 'accuracy-only' });
    expect(results.jobs[0]?.reason).toBeUndefined();
    expect(results.jobs[0]?.alignment?.[0]?.passed).toBe(true);
    expect(exitCode).toBe(0);
  });

  it('when nothing pairs, the error lists the names the file really holds', async () => {
    const dir = tempDir('two-inputs');
    const x = (await readTensors(join(MODELS, 'cnn/inputs.pt'))).tensors.get('input');
    if (x === undefined) throw new Error('cnn/inputs.pt has no "input"');
    const file = join(dir, 'two.safetensors');
    await writeSafetensors(file, new Map([['a', x], ['b', x]]));
    const suite = writeSuite(dir, { models: [cnnModel({ inputs: { source: 'reference', file } })], engines: [ORT] });
    const { results } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true, mode: 'accuracy-only' });
    expect(results.jobs[0]?.status).toBe('errored');
    expect(results.jobs[0]?.reason).toMatch(/input "input" is missing \(the file holds: a, b\)/);
  });
});
