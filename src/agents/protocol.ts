/**
 * The runner-agent protocol (docs/agents.md): JSON-RPC 2.0 between a coordinator (the client,
 * src/agents) and an agent (runner-agents/agent) that executes one repeat of one job at a time.
 *
 * Framing: on stdio (`benchalign agent stdio`) one JSON message per line (NDJSON); on the
 * daemon (`benchalign agent serve`) one JSON message per WebSocket text frame at `/rpc`.
 *
 * Files never travel as paths: the client uploads each file as a content-addressed artifact
 * (`artifact.put`), and a job names them by `artifact:<sha256>` refs plus a small tree of
 * relative names (`files`), so that a model sits next to its external data and a test-data
 * folder keeps its `test_data_set_N` layout. Tensors travel as base64 `.npy` bytes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, posix, relative, sep } from 'node:path';
import { BenchalignError } from '../errors.js';
import type { DeviceFingerprint } from '../model/record.js';
import type { Job } from '../model/job.js';
import type { InputsSpec, ReferenceSpec } from '../model/suite.js';
import { encodeNpy, parseNpy } from '../tensors/npy.js';
import { makeTensor, type NamedTensors, type Tensor } from '../tensors/tensor.js';
import { RepeatFailure, type JobProgress, type RepeatOutcome, type RunMode, type TargetFloor } from '../execution/execute-job.js';
import { MAX_LINE_BYTES as RPC_MAX_LINE_BYTES, RpcCode, type JsonRpcErrorObject } from '../rpc/index.js';

// The JSON-RPC layer lives in src/rpc; these names stay importable from here.
export {
  NdjsonSplitter,
  RpcCode,
  RpcError,
  encodeLine,
  isNotification,
  isRequest,
  isResponse,
  parseMessage,
  rpcError,
  rpcNotification,
  rpcRequest,
  rpcResult,
  type JsonRpcErrorObject,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../rpc/index.js';

/**
 * Version of this protocol; `info` reports it and the client refuses an agent that speaks
 * another (checkInfo in transports/rpc.ts). Bumped on incompatible changes. 2: the agent error
 * codes moved to -32010..-32013 (src/rpc/codes.ts), apart from the worker protocol's.
 */
export const AGENT_PROTOCOL_VERSION = 2;

/** Largest `data` chunk of one `artifact.put`, in bytes (before base64). */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Default `--max-artifact-bytes`: 4 GiB. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 4 * 1024 ** 3;
/** Largest message an agent accepts (line on stdio, frame on the daemon): a 4 MiB chunk in base64 plus the envelope. */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/**
 * Largest message a client accepts, and the default limit of {@link NdjsonSplitter}: a
 * `job.run` result carries every output tensor in base64. 512 MiB, about the longest string
 * V8 can hold; an agent fails a job whose outputs would not fit ({@link MAX_OUTPUTS_BASE64_BYTES}).
 */
export const MAX_LINE_BYTES = RPC_MAX_LINE_BYTES;
/** Largest total of the outputs' base64 text in one `job.run` result (the rest of the outcome gets 32 MiB). */
export const MAX_OUTPUTS_BASE64_BYTES = MAX_LINE_BYTES - 32 * 1024 * 1024;

/**
 * The agent protocol's codes in the one table of both protocols (src/rpc/codes.ts): Busy,
 * ArtifactMissing, ArtifactRefused, JobFailed (-32010..-32013) and the JSON-RPC standard ones.
 * @deprecated an alias of {@link RpcCode}, kept for code written before the table was shared.
 */
export const RpcErrorCode = RpcCode;
export type RpcErrorCode = RpcCode;

// ---------------------------------------------------------------- methods

/** An engine as the agent sees it. */
export interface AgentEngineInfo {
  name: string;
  available: boolean;
  version?: string;
  /** Why it is unavailable. */
  reason?: string;
  devices?: string[];
}

/** `info` -> */
export interface InfoResult {
  agentVersion: string;
  protocolVersion: number;
  fingerprint: DeviceFingerprint;
  engines: AgentEngineInfo[];
  /** The agent's labels, plus `arch`, `os` and (when nvidia-smi works) `gpu=nvidia`. */
  labels: Record<string, string>;
  /** A job is running. */
  busy: boolean;
  /** job.run calls waiting for the device. */
  queued: number;
}

/** `artifact.has` {sha256} */
export interface ArtifactHasParams {
  sha256: string;
}
export interface ArtifactHasResult {
  present: boolean;
  /** Bytes, when present. */
  size?: number;
}

/**
 * `artifact.put`: one chunk of an upload, in order. `size` is the whole artifact's size in
 * bytes, `offset` this chunk's position, `data` base64 (at most {@link MAX_CHUNK_BYTES}
 * decoded). The hash is verified at `final`.
 */
export interface ArtifactPutParams {
  sha256: string;
  size: number;
  offset: number;
  data: string;
  final: boolean;
}
export interface ArtifactPutResult {
  /** Bytes received so far for this upload (the whole size once stored). */
  received: number;
  /** The artifact is complete and verified. */
  stored: boolean;
}

/** A file of a job's tree: a relative POSIX path inside the job's folder, and its content. */
export interface WireFile {
  path: string;
  sha256: string;
}

/** A ref to an uploaded file: `artifact:<sha256>`. */
export type ArtifactRef = `artifact:${string}`;
/** A ref to a folder of the job's tree (e.g. an ONNX `test_data_set_0`): `tree:<relative path>`. */
export type TreeRef = `tree:${string}`;

/** A Job (src/suite/matrix.ts) whose paths are refs. */
export type WireJob = Job;

/** `job.run` */
export interface JobRunParams {
  /** Client-chosen id, unique per agent while the job lives; `job.progress` and `job.cancel` use it. */
  jobId: string;
  /** The job, with every path replaced by a ref ({@link toWireJob}). */
  job: WireJob;
  /** Where refs live: relative path -> artifact. */
  files: WireFile[];
  mode: RunMode;
  /** End the engine worker after this repeat (fresh process for the next one). */
  fresh: boolean;
  /** Give up (and fail the job with E_TIMEOUT) after this long, ms. */
  timeoutMs?: number;
  /**
   * Relative CI half-widths (fractions) the repeat's stopping rule need not beat, from the
   * spread between the job's repeats (src/metrics/intervals.ts `repeatTargetFloor`). Optional:
   * an agent that predates it runs to the suite's targets.
   */
  targetFloor?: TargetFloor;
  /** False: answer RpcCode.Busy (-32010) at once instead of waiting for the device. Default true. */
  wait?: boolean;
}

/** A tensor on the wire: `.npy` bytes in base64. bfloat16 travels as uint16 bits with `dtype: 'bfloat16'`. */
export interface WireTensor {
  name: string;
  npy: string;
  dtype?: 'bfloat16';
}

export type WireOutcome = Omit<RepeatOutcome, 'outputs'> & { outputs: WireTensor[] };

export interface JobRunResult {
  outcome: WireOutcome;
}

/** `job.progress` notification. */
export interface JobProgressParams {
  jobId: string;
  progress: JobProgress;
}

/** `job.cancel` */
export interface JobCancelParams {
  jobId: string;
}
export interface JobCancelResult {
  /** The job was running or queued and is now stopping. */
  cancelled: boolean;
}

/** `data` of a RpcCode.JobFailed (-32013) error: mirrors RepeatFailure. */
export interface JobFailureData {
  status: 'errored' | 'skipped';
  code?: string;
  stderrTail?: string;
}

export const Methods = {
  info: 'info',
  artifactHas: 'artifact.has',
  artifactPut: 'artifact.put',
  jobRun: 'job.run',
  jobCancel: 'job.cancel',
  jobProgress: 'job.progress',
} as const;

// ---------------------------------------------------------------- artifacts

const SHA256_RE = /^[0-9a-f]{64}$/;

/** True for a lowercase 64-hex sha256: the only artifact name an agent accepts. */
export function isSha256(s: unknown): s is string {
  return typeof s === 'string' && SHA256_RE.test(s);
}

export function artifactRef(sha256: string): ArtifactRef {
  if (!isSha256(sha256)) throw new BenchalignError('E_USAGE', `not a sha256: ${JSON.stringify(sha256).slice(0, 80)}`, { expected: '64 lowercase hex digits' });
  return `artifact:${sha256}`;
}

/** The sha256 of an `artifact:<sha256>` ref, or undefined when `s` is not one. */
export function parseArtifactRef(s: string): string | undefined {
  if (!s.startsWith('artifact:')) return undefined;
  const h = s.slice('artifact:'.length);
  return isSha256(h) ? h : undefined;
}

/**
 * True for a safe relative path of a job tree: POSIX separators, no leading `/`, no `.` or
 * `..` segment, no empty segment, each segment of `[A-Za-z0-9._+-]` and at most 255 bytes.
 */
export function isSafeTreePath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024) return false;
  const segs = p.split('/');
  return segs.every((s) => s.length > 0 && s.length <= 255 && s !== '.' && s !== '..' && /^[A-Za-z0-9._+-]+$/.test(s));
}

/** sha256 of bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------- jobs on the wire

/** A local file a job needs, and where it goes in the job's tree. */
export interface JobLocalFile {
  /** Relative POSIX path in the job's tree. */
  path: string;
  /** Absolute local path. */
  localPath: string;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = `${d}${sep}${n}`;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

function safeSegment(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._+-]/g, '_');
  return t === '.' || t === '..' || t === '' ? `_${t}` : t;
}

/** How {@link jobLocalFiles} lays a job out, for {@link toWireJob}. */
export interface JobLayout {
  files: JobLocalFile[];
  /** Local path (file or folder) -> its path in the tree. */
  treePathOf: Map<string, string>;
}

/**
 * The files a job needs on an agent, and their places in the job's tree: the model under
 * `model/` (with `extraModelFiles`, e.g. ONNX external data, at their paths relative to the
 * model's folder), its PyTorch form (`model.pytorch.path`, when the job has one) under
 * `pytorch/`, the input and reference files under `inputs/` and `reference/`, and each
 * ONNX test-data set under the folder of its case (`model/` when it is the model's folder).
 */
export function jobLocalFiles(job: Job, extraModelFiles: readonly string[] = []): JobLayout {
  const files: JobLocalFile[] = [];
  const treePathOf = new Map<string, string>();
  const seen = new Set<string>();
  const add = (localPath: string, path: string): void => {
    if (!isSafeTreePath(path)) throw new BenchalignError('E_USAGE', `cannot place ${localPath} in the job tree as "${path}"`, { expected: 'file names of [A-Za-z0-9._+-]' });
    if (!treePathOf.has(localPath)) treePathOf.set(localPath, path);
    if (seen.has(path)) return;
    seen.add(path);
    files.push({ path, localPath });
  };
  const modelDir = dirname(job.model.path);
  add(job.model.path, `model/${safeSegment(basename(job.model.path))}`);
  for (const extra of extraModelFiles) {
    const rel = toPosix(relative(modelDir, extra));
    if (rel.startsWith('..')) throw new BenchalignError('E_USAGE', `extra model file ${extra} is outside the model's folder ${modelDir}`);
    add(extra, `model/${rel.split('/').map(safeSegment).join('/')}`);
  }
  const caseDirs = new Map<string, string>([[modelDir, 'model']]);
  const placeSet = (setDir: string): void => {
    const clean = setDir.replace(/[\\/]+$/, '');
    const parent = dirname(clean);
    let root = caseDirs.get(parent);
    if (root === undefined) {
      root = `data${caseDirs.size}`;
      caseDirs.set(parent, root);
    }
    const setTree = `${root}/${safeSegment(basename(clean))}`;
    treePathOf.set(setDir, setTree);
    for (const f of listFiles(clean)) add(f, `${setTree}/${toPosix(relative(clean, f)).split('/').map(safeSegment).join('/')}`);
  };
  const torch = (job.model as { pytorch?: { path: string } }).pytorch;
  if (torch !== undefined) add(torch.path, `pytorch/${safeSegment(basename(torch.path))}`);
  const inputs = job.model.inputs;
  if (inputs.source === 'reference') add(inputs.file, `inputs/${safeSegment(basename(inputs.file))}`);
  else if (inputs.source === 'onnx-test-data') inputs.dataSets.forEach(placeSet);
  const ref = job.model.reference;
  if (ref?.source === 'file') add(ref.path, `reference/${safeSegment(basename(ref.path))}`);
  else if (ref?.source === 'onnx-test-data') ref.dataSets.forEach(placeSet);
  return { files, treePathOf };
}

/**
 * The job as it travels: every file path replaced by `artifact:<sha256>` (from `shaOf`, by
 * local path) and every test-data folder by `tree:<path>`, plus the tree's files.
 */
export function toWireJob(job: Job, layout: JobLayout, shaOf: (localPath: string) => string): { job: WireJob; files: WireFile[] } {
  const fileRef = (p: string): string => artifactRef(shaOf(p));
  const dirRef = (p: string): string => {
    const t = layout.treePathOf.get(p);
    if (t === undefined) throw new BenchalignError('E_INTERNAL', `no tree path for ${p}`);
    return `tree:${t}`;
  };
  const inputs: InputsSpec =
    job.model.inputs.source === 'reference'
      ? { source: 'reference', file: fileRef(job.model.inputs.file) }
      : job.model.inputs.source === 'onnx-test-data'
        ? { source: 'onnx-test-data', dataSets: job.model.inputs.dataSets.map(dirRef) }
        : job.model.inputs;
  const wire: WireJob = { ...job, model: { ...job.model, path: fileRef(job.model.path), inputs } };
  const ref = job.model.reference;
  if (ref !== undefined) {
    const r: ReferenceSpec = ref.source === 'file' ? { source: 'file', path: fileRef(ref.path) } : { source: 'onnx-test-data', dataSets: ref.dataSets.map(dirRef) };
    wire.model.reference = r;
  }
  const torch = (job.model as { pytorch?: { path: string } }).pytorch;
  if (torch !== undefined) (wire.model as { pytorch?: { path: string } }).pytorch = { ...torch, path: fileRef(torch.path) };
  const files = layout.files.map((f) => ({ path: f.path, sha256: shaOf(f.localPath) }));
  return { job: wire, files };
}

/**
 * The job with its refs resolved by the agent: `resolveFile('artifact:<sha>')` and
 * `resolveDir('tree:<path>')` return local paths, and throw for anything else.
 */
export function fromWireJob(wire: WireJob, resolveFile: (ref: string, field: string) => string, resolveDir: (ref: string, field: string) => string): Job {
  const m = wire.model;
  const src = m.inputs.source as string;
  if (src !== 'reference' && src !== 'onnx-test-data' && src !== 'random') throw new BenchalignError('E_USAGE', `job.model.inputs.source: "${src}"`, { expected: 'reference | random | onnx-test-data' });
  const inputs: InputsSpec =
    m.inputs.source === 'reference'
      ? { source: 'reference', file: resolveFile(m.inputs.file, 'job.model.inputs.file') }
      : m.inputs.source === 'onnx-test-data'
        ? { source: 'onnx-test-data', dataSets: m.inputs.dataSets.map((d, i) => resolveDir(d, `job.model.inputs.dataSets[${i}]`)) }
        : m.inputs;
  const job: Job = { ...wire, model: { ...m, path: resolveFile(m.path, 'job.model.path'), inputs } };
  const torch = (m as { pytorch?: { path: string } }).pytorch;
  if (torch !== undefined) (job.model as { pytorch?: { path: string } }).pytorch = { ...torch, path: resolveFile(torch.path, 'job.model.pytorch.path') };
  const ref = m.reference;
  if (ref !== undefined) {
    if ((ref.source as string) !== 'file' && ref.source !== 'onnx-test-data') throw new BenchalignError('E_USAGE', `job.model.reference.source: "${ref.source as string}"`, { expected: 'file | onnx-test-data' });
    job.model.reference =
      ref.source === 'file'
        ? { source: 'file', path: resolveFile(ref.path, 'job.model.reference.path') }
        : { source: 'onnx-test-data', dataSets: ref.dataSets.map((d, i) => resolveDir(d, `job.model.reference.dataSets[${i}]`)) };
  }
  return job;
}

/** posix.join for tree paths (re-exported so both sides build them the same way). */
export const treeJoin = posix.join;

// ---------------------------------------------------------------- outcomes on the wire

export function encodeTensor(name: string, t: Tensor): WireTensor {
  if (t.dtype === 'bfloat16') {
    const bits = makeTensor('uint16', t.dims, t.data as Uint16Array);
    return { name, npy: Buffer.from(encodeNpy(bits)).toString('base64'), dtype: 'bfloat16' };
  }
  return { name, npy: Buffer.from(encodeNpy(t)).toString('base64') };
}

export function decodeTensor(w: WireTensor, where = 'outcome.outputs'): Tensor {
  if (typeof w?.npy !== 'string' || typeof w.name !== 'string') {
    throw new BenchalignError('E_TENSOR_FORMAT', `${where}: expected {name, npy: base64}`);
  }
  const bytes = Buffer.from(w.npy, 'base64');
  const t = parseNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `${where}["${w.name}"]`);
  if (w.dtype === 'bfloat16') {
    if (t.dtype !== 'uint16') throw new BenchalignError('E_TENSOR_FORMAT', `${where}["${w.name}"]: bfloat16 must travel as uint16 bits, got ${t.dtype}`);
    return makeTensor('bfloat16', t.dims, t.data as Uint16Array);
  }
  return t;
}

export function encodeOutcome(o: RepeatOutcome): WireOutcome {
  return { ...o, outputs: [...o.outputs].map(([name, t]) => encodeTensor(name, t)) };
}

export function decodeOutcome(w: WireOutcome): RepeatOutcome {
  if (typeof w !== 'object' || w === null || !Array.isArray(w.outputs) || !Array.isArray(w.allSamplesNs)) {
    throw new BenchalignError('E_INFRA', 'job.run result: expected {outcome: {outputs: [...], allSamplesNs: [...], ...}}');
  }
  const outputs: NamedTensors = new Map();
  w.outputs.forEach((t, i) => outputs.set(t.name, decodeTensor(t, `outcome.outputs[${i}]`)));
  return { ...w, outputs };
}

export function failureData(f: RepeatFailure): JobFailureData {
  const d: JobFailureData = { status: f.status };
  if (f.code !== undefined) d.code = f.code;
  if (f.stderrTail !== undefined) d.stderrTail = f.stderrTail;
  return d;
}

/** The RepeatFailure a RpcCode.JobFailed (-32013) error stands for. */
export function failureFromError(e: JsonRpcErrorObject): RepeatFailure {
  const d = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Partial<JobFailureData>;
  const status = d.status === 'skipped' ? 'skipped' : 'errored';
  return new RepeatFailure(status, e.message, typeof d.stderrTail === 'string' ? d.stderrTail : undefined, typeof d.code === 'string' ? d.code : undefined);
}
