/**
 * The OpenCV-DNN runner: pip `opencv-python-headless` in a Python worker (runner-agents/python/
 * benchalign_worker/opencv_worker.py). It reads ONNX directly (`cv2.dnn.readNetFromONNX`), sets
 * the backend and target explicitly and reports the precision OpenCV really computed in
 * (docs/engines.md).
 */
import { PythonWorkerRunner } from '../python/runner.js';

export class OpenCvRunner extends PythonWorkerRunner {
  readonly name = 'opencv';
  protected readonly module = 'opencv_worker';
}
