/**
 * The OpenVINO runner: pip `openvino` in a Python worker (runner-agents/python/benchalign_worker/
 * openvino_worker.py). It reads ONNX directly and always sets INFERENCE_PRECISION_HINT, and
 * reports the precision the device really ran (docs/engines.md).
 */
import { PythonWorkerRunner } from '../python/runner.js';

export class OpenVinoRunner extends PythonWorkerRunner {
  readonly name = 'openvino';
  protected readonly module = 'openvino_worker';
}
