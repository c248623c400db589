/** The ncnn converter's input-shape checks (Python, run without ncnn or pnnx): batch 1 only, and advice that works. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonPath } from '../../src/runners/python/env.js';
import { REPO } from './helpers.js';

function inputShapes(inputs: unknown[], shapes: Record<string, number[]>): string {
  const script = [
    'import json, sys',
    'from benchalign_worker.ncnn_convert import ConvertError, input_shapes',
    'ins = json.loads(sys.argv[1])',
    'try:',
    '    input_shapes("m.onnx", ins, json.loads(sys.argv[2])); print(json.dumps([i["shape"] for i in ins]))',
    'except ConvertError as e:',
    '    print(e)',
  ].join('\n');
  return execFileSync(pythonPath(), ['-c', script, JSON.stringify(inputs), JSON.stringify(shapes)], { env: { ...process.env, PYTHONPATH: join(REPO, 'runner-agents/python') } }).toString().trim();
}

describe('ncnn input shapes', () => {
  it('a model that fixes batch 2 is told to be exported with batch 1 or a dynamic batch, not given a shapes pin that cannot fit', () => {
    const msg = inputShapes([{ name: 'ids', dtype: 'int64', dims: [2, 12] }], {});
    expect(msg).toMatch(/input 'ids' has a fixed batch of 2 \(\[2, 12\]\).*export the model with batch 1, or with a dynamic batch dim/);
    expect(msg).not.toMatch(/shapes: \{ids: \[1, 12\]\}/);
    // the pin the old advice suggested indeed fails for that model
    expect(inputShapes([{ name: 'ids', dtype: 'int64', dims: [2, 12] }], { ids: [1, 12] })).toMatch(/does not fit its dims/);
  });

  it('a dynamic batch pinned above 1 is told the pin that works, and that pin works', () => {
    const msg = inputShapes([{ name: 'ids', dtype: 'int64', dims: ['batch', 12] }], { ids: [4, 12] });
    expect(msg).toMatch(/has batch 4 .*shapes: \{ids: \[1, 12\]\}/);
    expect(inputShapes([{ name: 'ids', dtype: 'int64', dims: ['batch', 12] }], { ids: [1, 12] })).toBe('[[1, 12]]');
  });
});
