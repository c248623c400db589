/** A job's reference outputs, read where the job is finished (the coordinator, or a pull agent). */
import type { Job } from '../model/job.js';
import { readOnnxTestData } from '../tensors/onnx-test-data.js';
import { readTensors } from '../tensors/read.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { dataSetIndex } from './inputs.js';

/** The reference outputs of a job (file, or the first ONNX test-data set). */
export async function loadReference(job: Job): Promise<NamedTensors | undefined> {
  const ref = job.model.reference;
  if (!ref) return undefined;
  if (ref.source === 'file') return (await readTensors(ref.path)).tensors;
  const dir = ref.dataSets[0];
  if (dir === undefined) return undefined;
  const data = await readOnnxTestData(dir.replace(/\/test_data_set_\d+\/?$/, ''), dataSetIndex(dir));
  return data.sets[0]?.outputs;
}
