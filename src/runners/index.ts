export * from './types.js';
export * from './registry.js';
export { WorkerProcess, WorkerFailure, describeExit, readRssBytes, type WorkerExit, type WorkerProcessOptions } from './worker-client.js';
export { WorkerRunner, type WorkerRunnerConfig } from './worker-runner.js';
export { OnnxRuntimeRunner } from './onnxruntime/runner.js';
export { parseOrtOptions, ORT_DEFAULTS, type OrtOptions } from './onnxruntime/options.js';
