/** The ncnn converter's input-shape checks (Python, run without ncnn or pnnx): batch N converted for batch 1 and emulated item by item, one batch size for every input. */
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
    '    input_shapes("m.onnx", ins, json.loads(sys.argv[2])); print(json.dumps([[i["shape"], i["batch"]] for i in ins]))',
    'except ConvertError as e:',
    '    print(e)',
  ].join('\n');
  return execFileSync(pythonPath(), ['-c', script, JSON.stringify(inputs), JSON.stringify(shapes)], { env: { ...process.env, PYTHONPATH: join(REPO, 'runner-agents/python') } }).toString().trim();
}

describe('ncnn input shapes', () => {
  it('a model that fixes batch 2 is converted for batch 1 and run as 2 items (emulated batching)', () => {
    expect(inputShapes([{ name: 'ids', dtype: 'int64', dims: [2, 12] }], {})).toBe('[[[1, 12], 2]]');
    // a pin that does not fit the graph's fixed dims is refused, naming them
    expect(inputShapes([{ name: 'ids', dtype: 'int64', dims: [2, 12] }], { ids: [1, 12] })).toMatch(/does not fit its dims/);
  });

  it('a dynamic batch pinned to 4 runs as 4 items; pinned to 1 as one', () => {
    expect(inputShapes([{ name: 'ids', dtype: 'int64', dims: ['batch', 12] }], { ids: [4, 12] })).toBe('[[[1, 12], 4]]');
    expect(inputShapes([{ name: 'ids', dtype: 'int64', dims: ['batch', 12] }], { ids: [1, 12] })).toBe('[[[1, 12], 1]]');
  });

  it('inputs with different batch sizes are refused', () => {
    const msg = inputShapes([{ name: 'a', dtype: 'float32', dims: ['b', 3] }, { name: 'c', dtype: 'float32', dims: ['b', 3] }], { a: [2, 3], c: [3, 3] });
    expect(msg).toMatch(/different batch sizes \[2, 3\]/);
  });
});
