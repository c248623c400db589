/**
 * FAKE ENGINE, FOR FAULT-INJECTION TESTS ONLY. It speaks the worker protocol, "infers" by
 * copying input `x` to output `y`, and, when its options ask, crashes (abort, SIGSEGV,
 * exit code), hangs, leaks memory, or fails to load, so the harness's failure handling can
 * be tested against a real process. It is never registered unless BENCHALIGN_TEST_ENGINES=1.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../../tensors/tensor.js';
import { readNpy, writeNpy } from '../../tensors/npy.js';
import { PROTOCOL_VERSION, RpcCode, type InferParams, type LoadParams, type MeasureParams, type SetInputsParams } from '../protocol.js';
import { WorkerError, serveWorker } from '../worker-server.js';
import { parseFaultOptions, type FaultOptions, type FaultStage } from './options.js';

let options: FaultOptions | undefined;
let loaded = false;
let feeds: Map<string, Tensor> | undefined;
const hoard: Buffer[] = [];
const heapHoard: number[][] = [];

function leak(o: FaultOptions, onHeap: boolean): Promise<never> {
  let total = 0;
  return new Promise<never>(() => {
    const step = (): void => {
      if (total < o.leakCapBytes) {
        if (onHeap) {
          const n = Math.floor(o.leakStepBytes / 8);
          heapHoard.push(Array.from({ length: n }, (_, i) => i + 0.5));
        } else {
          const b = Buffer.allocUnsafe(o.leakStepBytes);
          for (let i = 0; i < b.length; i += 4096) b[i] = 1;
          hoard.push(b);
        }
        total += o.leakStepBytes;
        process.stderr.write(`fault worker: leaked ${Math.round(total / 1048576)} MiB\n`);
      }
      setTimeout(step, o.leakIntervalMs);
    };
    step();
  });
}

async function maybeFault(stage: FaultStage): Promise<void> {
  const o = options;
  if (o === undefined || o.fault === 'none' || o.faultAt !== stage) return;
  process.stderr.write(`fault worker: injecting ${o.fault} during ${stage}\n`);
  switch (o.fault) {
    case 'abort':
      process.abort();
      break;
    case 'segv':
      process.kill(process.pid, 'SIGSEGV');
      await new Promise(() => {});
      break;
    case 'exit':
      process.exit(o.exitCode);
      break;
    case 'hang':
      await new Promise(() => {});
      break;
    case 'leak':
      await leak(o, false);
      break;
    case 'heap-leak':
      await leak(o, true);
      break;
    case 'load-fail':
      throw new WorkerError(RpcCode.Engine, 'fault worker: model failed to load (injected)', { benchalignCode: 'E_ENGINE' });
  }
}

serveWorker({
  hello: () => ({ protocol: PROTOCOL_VERSION, engine: 'test-fault', version: '0.0.0-fake', pid: process.pid, devices: ['cpu'] }),

  load: async (raw) => {
    const p = raw as LoadParams;
    loaded = false;
    options = parseFaultOptions(p.options ?? {});
    const t0 = process.hrtime.bigint();
    try {
      statSync(p.modelPath);
    } catch (e) {
      throw new WorkerError(RpcCode.Engine, `cannot read model: ${(e as Error).message}`, { benchalignCode: 'E_ENGINE' });
    }
    await maybeFault('load');
    loaded = true;
    return {
      loadMs: Number(process.hrtime.bigint() - t0) / 1e6,
      inputs: [{ name: 'x', dtype: 'float32', dims: [4] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [4] }],
      effectivePrecision: 'fp32',
      notes: ['fake engine for fault-injection tests: y = x'],
      appliedOptions: { ...options },
    };
  },

  setInputs: async (raw) => {
    if (!loaded) throw new WorkerError(RpcCode.State, 'no model is loaded', { benchalignCode: 'E_USAGE' });
    const next = new Map<string, Tensor>();
    for (const [name, path] of Object.entries((raw as SetInputsParams).inputs)) next.set(name, await readNpy(path));
    if (!next.has('x')) throw new WorkerError(RpcCode.InvalidParams, 'missing input x', { benchalignCode: 'E_SHAPE', expected: 'input x' });
    feeds = next;
    return null;
  },

  infer: async (raw) => {
    const x = feeds?.get('x');
    if (!loaded || x === undefined) throw new WorkerError(RpcCode.State, 'load and setInputs first', { benchalignCode: 'E_USAGE' });
    const t0 = process.hrtime.bigint();
    await maybeFault('infer');
    const latencyNs = Number(process.hrtime.bigint() - t0);
    const dir = (raw as InferParams).outputDir;
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'y.npy');
    await writeNpy(path, x);
    return { outputs: { y: path }, latencyNs };
  },

  measure: async (raw) => {
    if (!loaded || feeds === undefined) throw new WorkerError(RpcCode.State, 'load and setInputs first', { benchalignCode: 'E_USAGE' });
    await maybeFault('measure');
    const p = raw as MeasureParams;
    const samplesNs: number[] = [];
    const start = process.hrtime.bigint();
    let acc = 0;
    for (let i = 0; i < p.iterations; i++) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < 1000; k++) acc += Math.sqrt(k + i);
      samplesNs.push(Number(process.hrtime.bigint() - t0));
    }
    if (acc < 0) process.stderr.write('unreachable\n');
    return { samplesNs, wallNs: Number(process.hrtime.bigint() - start), startedAtNs: Number(start) };
  },

  unload: () => {
    loaded = false;
    feeds = undefined;
    return null;
  },
});
