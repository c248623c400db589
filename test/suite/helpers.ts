import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];

afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temp folder holding `files` (relative path -> content), removed after the test. */
export async function tempTree(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'benchalign-suite-'));
  made.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    if (rel.endsWith('/')) await mkdir(abs, { recursive: true });
    else await writeFile(abs, content);
  }
  return dir;
}

/** Files of one ONNX test case folder with `sets` data sets (contents are placeholders). */
export function onnxCase(prefix: string, sets: number[] = [0]): Record<string, string> {
  const out: Record<string, string> = { [`${prefix}/model.onnx`]: `model ${prefix}` };
  for (const n of sets) {
    out[`${prefix}/test_data_set_${n}/input_0.pb`] = 'in';
    out[`${prefix}/test_data_set_${n}/output_0.pb`] = 'out';
  }
  return out;
}

/** The ONNX backend test data shipped with the pip onnx package, when the venv has it. */
export const ONNX_BACKEND_DATA = path.resolve('.venv/lib/python3.11/site-packages/onnx/backend/test/data');
