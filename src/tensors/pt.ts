/**
 * torch `.pt` reader (the zip format of torch.save since 1.6). The pickle `data.pkl` runs in
 * the value-only VM of pickle.ts with an allowlist that mirrors torch's weights-only
 * unpickler; any other global is refused with E_UNSAFE_PICKLE and never executed.
 */
import { basename, extname } from 'node:path';
import { BenchalignError } from '../errors.js';
import { DTYPE_CTOR, itemSizeBytes, type DType, type DTypeDataMap } from './dtype.js';
import { byteSwapped, checkedNumel, isContiguous, materializeStrided, viewExtent } from './layout.js';
import { PyDict, PyGlobal, PyObject, PySet, PyTuple, typeName, unpickle, type PyValue, type UnpickleLimits } from './pickle.js';
import { makeTensor, type NamedTensors, type Tensor } from './tensor.js';
import { DEFAULT_ZIP_LIMITS, isZip, readZip, type ZipLimits } from './zip.js';

/** Legacy storage class names to dtypes. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** `torch.<name>` dtype globals to dtypes. */
export const TORCH_DTYPES: Readonly<Record<string, DType>> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16', bfloat16: 'bfloat16',
  int8: 'int8', int16: 'int16', short: 'int16', int32: 'int32', int: 'int32', int64: 'int64', long: 'int64',
  uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool',
};

const REBUILD_TENSOR = ['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter', '_rebuild_parameter_with_state'].map((n) => `torch._utils.${n}`);

/**
 * Every global the unpickler accepts (besides `torch.<Name>Storage` and `torch.<dtype>`).
 * torch's weights-only allowlist also has quantized, sparse, nested and meta tensor rebuilds:
 * those are refused here as unsupported rather than unsafe.
 */
export const PICKLE_ALLOWLIST: readonly string[] = [
  ...REBUILD_TENSOR,
  'torch._tensor._rebuild_from_type_v2',
  'collections.OrderedDict',
  'collections.Counter',
  'torch.Size',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.device',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  '_codecs.encode',
  'builtins.set',
  'builtins.frozenset',
  'builtins.bytearray',
  'builtins.complex',
];

const TORCH_ALLOWED_UNSUPPORTED = new Set([
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch.serialization._get_layout',
]);

interface StorageRef {
  key: string;
  /** undefined for UntypedStorage (bytes). */
  dtype: DType | undefined;
  /** Declared size: elements for typed storages, bytes for UntypedStorage. */
  size: number;
}

/** Options for {@link parsePt}. */
export interface PtOptions {
  zip?: ZipLimits;
  pickle?: UnpickleLimits;
}

/** Refusal message for pre-1.6 (non-zip) torch files. */
export const LEGACY_PT_MESSAGE =
  'legacy (non-zip) torch serialization is not supported; re-save the file with torch >= 1.6, e.g. `torch.save(torch.load(old, weights_only=True), new)` (the default _use_new_zipfile_serialization=True)';

/** Decodes a zip-format `.pt` held in memory to its root object (tensors as PyObject('tensor')). */
export function loadPt(bytes: Uint8Array, file: string, options: PtOptions = {}): PyValue {
  if (!isZip(bytes)) {
    if (bytes[0] === 0x80 || (bytes.length > 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar')) {
      throw new BenchalignError('E_UNSUPPORTED', LEGACY_PT_MESSAGE, { file, expected: 'a zip-format .pt file' });
    }
    throw new BenchalignError('E_TENSOR_FORMAT', 'not a torch .pt file (neither zip nor legacy pickle)', { file, expected: 'a zip archive written by torch.save' });
  }
  let prefix: string | undefined;
  const head = readZip(
    bytes,
    file,
    (name) => {
      if (prefix === undefined) prefix = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
      return name === `${prefix}/data.pkl` || name === `${prefix}/byteorder`;
    },
    options.zip,
  );
  const p = prefix ?? '';
  if (head.entries.some((e) => e.name === `${p}/constants.pkl` || e.name.startsWith(`${p}/code/`))) {
    throw new BenchalignError('E_UNSUPPORTED', 'this is a TorchScript archive (torch.jit.save), not a torch.save file', { file, expected: 'tensors saved with torch.save (e.g. torch.save(model.state_dict(), f))' });
  }
  const pkl = head.files.get(`${p}/data.pkl`);
  if (pkl === undefined) throw new BenchalignError('E_TENSOR_FORMAT', `no '${p}/data.pkl' in the archive`, { file, expected: 'a torch.save zip with <prefix>/data.pkl' });
  const order = head.files.get(`${p}/byteorder`);
  const orderText = order === undefined ? 'little' : Buffer.from(order).toString('latin1').trim();
  if (orderText !== 'little' && orderText !== 'big') throw new BenchalignError('E_TENSOR_FORMAT', `byteorder record says '${orderText.slice(0, 20)}'`, { file, expected: "'little' or 'big'" });
  const bigEndian = orderText === 'big';
  const known = new Set(head.entries.map((e) => e.name));

  const storages = new Map<string, Uint8Array>();
  const wanted = new Set<string>();
  const refs: StorageRef[] = [];
  const pending: Array<{ obj: PyObject; build: () => Tensor }> = [];

  const resolveGlobal = (module: string, name: string): PyValue => {
    const full = `${module}.${name}`;
    if (PICKLE_ALLOWLIST.includes(full)) return new PyGlobal(full);
    if (module === 'torch' && name in TORCH_STORAGE_DTYPES) return new PyGlobal(full);
    if (module === 'torch' && name in TORCH_DTYPES) return new PyObject('dtype', TORCH_DTYPES[name]);
    if (TORCH_ALLOWED_UNSUPPORTED.has(full) || (module === 'torch' && /Storage$|^(q|c|complex|per_)/.test(name))) {
      throw new BenchalignError('E_UNSUPPORTED', `pickle needs ${full}, which benchalign does not read (quantized, sparse, complex or meta tensors)`, {
        file,
        expected: 'dense tensors of float, int or bool dtypes',
      });
    }
    throw new BenchalignError('E_UNSAFE_PICKLE', `pickle references GLOBAL ${full}, which is not on the allowlist; it was not imported or called`, {
      file,
      expected: 'only tensor rebuild functions, storage types, dtypes, torch.Size and plain containers (see docs/tensors.md)',
    });
  };

  const persistentLoad = (pid: PyValue): PyValue => {
    if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage' || pid.items.length < 5) {
      throw new BenchalignError('E_TENSOR_FORMAT', `persistent id is a ${typeName(pid)}`, { file, expected: "('storage', type, key, location, size)" });
    }
    const [, type, key, , size] = pid.items;
    if (!(type instanceof PyGlobal) || typeof key !== 'string' || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new BenchalignError('E_TENSOR_FORMAT', 'malformed storage persistent id', { file, expected: "('storage', <storage type>, '<key>', '<location>', <size>)" });
    }
    const short = type.name.slice(type.name.lastIndexOf('.') + 1);
    const dtype = TORCH_STORAGE_DTYPES[short];
    if (dtype === undefined && short !== 'UntypedStorage') {
      throw new BenchalignError('E_TENSOR_FORMAT', `persistent id storage type ${type.name}`, { file, expected: 'a torch storage type' });
    }
    const entry = `${p}/data/${key}`;
    if (!known.has(entry)) throw new BenchalignError('E_TENSOR_FORMAT', `storage '${key}' has no archive entry '${entry}'`, { file, expected: 'one data/<key> entry per storage' });
    wanted.add(entry);
    const ref: StorageRef = { key, dtype, size };
    refs.push(ref);
    return new PyObject('storage', ref);
  };

  const rebuild = (args: PyValue[], dtypeArg: PyValue | undefined): PyValue => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof PyObject) || storage.type !== 'storage') throw new BenchalignError('E_TENSOR_FORMAT', `tensor rebuild got a ${typeName(storage ?? null)} instead of a storage`, { file });
    const ref = storage.payload as StorageRef;
    let dtype = ref.dtype;
    if (dtypeArg !== undefined) {
      if (!(dtypeArg instanceof PyObject) || dtypeArg.type !== 'dtype') throw new BenchalignError('E_TENSOR_FORMAT', '_rebuild_tensor_v3 without a dtype', { file });
      dtype = dtypeArg.payload as DType;
    }
    if (dtype === undefined) throw new BenchalignError('E_TENSOR_FORMAT', `untyped storage '${ref.key}' used without a dtype`, { file });
    const dims = intTuple(size, 'size');
    const strides = intTuple(stride, 'stride');
    if (typeof offset !== 'number') throw new BenchalignError('E_TENSOR_FORMAT', 'storage offset is not an integer', { file });
    checkedNumel(dims, file, `tensor in storage '${ref.key}'`);
    const dt = dtype;
    const obj = new PyObject('tensor', undefined);
    pending.push({ obj, build: () => materialize(ref, dt, offset, dims, strides) });
    return obj;
  };

  const intTuple = (v: PyValue | undefined, what: string): number[] => {
    const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
    if (items === undefined || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
      throw new BenchalignError('E_TENSOR_FORMAT', `tensor ${what} is not a tuple of integers`, { file });
    }
    return items as number[];
  };

  const typed = new Map<string, DTypeDataMap[DType]>();
  // A strided view is copied out: the bytes it expands to obey the zip-member limits, so a
  // 1.6 KB file holding torch.zeros(1).expand(2**20, 2**20) cannot ask for 4 TB.
  const lim = { ...DEFAULT_ZIP_LIMITS, ...options.zip };
  let expandedBytes = 0;
  const checkExpansion = (ref: StorageRef, n: number, itemBytes: number, storageElements: number, dims: number[], strides: number[]): void => {
    const bytes = n * itemBytes;
    const view = `tensor view (size [${dims.join(', ')}], stride [${strides.join(', ')}]) of storage '${ref.key}' with ${storageElements} elements`;
    if (bytes > lim.maxEntryBytes) {
      throw new BenchalignError('E_TENSOR_FORMAT', `${view} expands to ${bytes} bytes, over the ${lim.maxEntryBytes}-byte limit`, { file, expected: `at most ${lim.maxEntryBytes} bytes per tensor` });
    }
    if (bytes > 2 ** 20 && n / Math.max(1, storageElements) > lim.maxRatio) {
      throw new BenchalignError('E_TENSOR_FORMAT', `${view} expands to ${n} elements, ${Math.round(n / Math.max(1, storageElements))} times its storage (an expand() bomb?)`, {
        file,
        expected: `a view at most ${lim.maxRatio} times its storage; save a contiguous copy (tensor.contiguous()) instead`,
      });
    }
    expandedBytes += bytes;
    if (expandedBytes > lim.maxTotalBytes) {
      throw new BenchalignError('E_TENSOR_FORMAT', `strided views expand to ${expandedBytes} bytes in all, over the ${lim.maxTotalBytes}-byte limit`, { file, expected: `at most ${lim.maxTotalBytes} bytes in all` });
    }
  };
  const materialize = (ref: StorageRef, dtype: DType, offset: number, dims: number[], strides: number[]): Tensor => {
    const raw = storages.get(`${p}/data/${ref.key}`) as Uint8Array;
    const size = itemSizeBytes(dtype);
    const declaredBytes = ref.dtype === undefined ? ref.size : ref.size * size;
    if (raw.length < declaredBytes || raw.length % size !== 0) {
      throw new BenchalignError('E_TENSOR_FORMAT', `storage '${ref.key}' has ${raw.length} bytes but is declared as ${declaredBytes}`, { file, expected: `${declaredBytes} bytes of ${dtype}` });
    }
    const cacheKey = `${ref.key}:${dtype}`;
    let data = typed.get(cacheKey);
    if (data === undefined) {
      const n = raw.length / size;
      const src = bigEndian && size > 1 ? byteSwapped(raw, size) : raw;
      data = src.byteOffset % size === 0 ? new DTYPE_CTOR[dtype](src.buffer, src.byteOffset, n) : new DTYPE_CTOR[dtype](src.slice().buffer, 0, n);
      typed.set(cacheKey, data);
    }
    const last = viewExtent(offset, dims, strides, file);
    if (last >= declaredBytes / size) {
      throw new BenchalignError('E_TENSOR_FORMAT', `tensor view (offset ${offset}, size [${dims.join(', ')}], stride [${strides.join(', ')}]) reaches element ${last} of storage '${ref.key}' with ${declaredBytes / size} elements`, { file, expected: 'a view inside its storage' });
    }
    const n = dims.reduce((a, b) => a * b, 1);
    if (isContiguous(dims, strides)) return makeTensor(dtype, dims, data.subarray(offset, offset + n) as DTypeDataMap[DType]);
    checkExpansion(ref, n, size, declaredBytes / size, dims, strides);
    return makeTensor(dtype, dims, materializeStrided(dtype, data, offset, dims, strides));
  };

  const call = (fn: PyGlobal, args: PyValue[], opcode: 'REDUCE' | 'NEWOBJ'): PyValue => {
    const name = fn.name;
    switch (name) {
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return rebuild(args, undefined);
      case 'torch._utils._rebuild_tensor_v3':
        return rebuild(args, args[6]);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        if (!(args[0] instanceof PyObject) || args[0].type !== 'tensor') throw new BenchalignError('E_TENSOR_FORMAT', 'parameter rebuilt from a non-tensor', { file });
        return args[0];
      case 'torch._tensor._rebuild_from_type_v2': {
        const [inner, , innerArgs] = args;
        if (!(inner instanceof PyGlobal) || !(innerArgs instanceof PyTuple)) throw new BenchalignError('E_TENSOR_FORMAT', '_rebuild_from_type_v2 with bad arguments', { file });
        return call(inner, innerArgs.items, 'REDUCE');
      }
      case 'collections.OrderedDict':
      case 'collections.Counter': {
        const d = new PyDict();
        const init = args[0];
        const pairs = Array.isArray(init) ? init : init instanceof PyTuple ? init.items : [];
        for (const pr of pairs) if (pr instanceof PyTuple && pr.items.length === 2) d.set(pr.items[0] as PyValue, pr.items[1] as PyValue);
        return d;
      }
      case 'torch.Size':
        return new PyTuple(args[0] instanceof PyTuple ? args[0].items : Array.isArray(args[0]) ? args[0] : []);
      case 'torch.device':
        return args.map((a) => String(a)).join(':');
      case 'builtins.set':
      case 'builtins.frozenset':
        return new PySet(Array.isArray(args[0]) ? args[0] : args[0] instanceof PyTuple ? args[0].items : []);
      case 'builtins.bytearray':
        return args[0] instanceof Uint8Array ? args[0] : new Uint8Array(0);
      case '_codecs.encode':
        if (typeof args[0] !== 'string') throw new BenchalignError('E_TENSOR_FORMAT', '_codecs.encode of a non-string', { file });
        return new Uint8Array(Buffer.from(args[0], args[1] === 'latin1' || args[1] === 'latin-1' ? 'latin1' : 'utf8'));
      case 'builtins.complex':
        return new PyObject('complex', args);
      default:
        throw new BenchalignError('E_UNSUPPORTED', `pickle ${opcode} on ${name}, which builds no value benchalign reads`, { file, expected: 'tensor rebuild functions and containers' });
    }
  };

  const build = (inst: PyValue, _state: PyValue): PyValue => {
    if (inst instanceof PyObject && inst.type === 'tensor') return inst;
    throw new BenchalignError('E_TENSOR_FORMAT', `BUILD on a ${typeName(inst)}`, { file, expected: 'BUILD only on tensors or OrderedDict' });
  };

  const rootObj = unpickle(pkl, `${file}:${p}/data.pkl`, { resolveGlobal, call, persistentLoad, build }, options.pickle);
  if (wanted.size > 0) {
    const data = readZip(bytes, file, (n) => wanted.has(n), options.zip);
    for (const [k, v] of data.files) storages.set(k, v);
  }
  for (const { obj, build: make } of pending) obj.payload = make();
  return rootObj;
}

/** A `.pt` file's tensors by dotted name, and its non-tensor leaves as strings. */
export interface PtContent {
  tensors: NamedTensors;
  metadata: Record<string, string>;
}

/** Flattens a loaded `.pt` root: a lone tensor is named `rootName`, containers give dotted names. */
export function flattenPt(rootObj: PyValue, rootName: string, maxDepth = 256): PtContent {
  const tensors: NamedTensors = new Map();
  const metadata: Record<string, string> = {};
  const seen = new Set<unknown>();
  const walk = (v: PyValue, name: string, depth: number): void => {
    if (depth > maxDepth) throw new BenchalignError('E_TENSOR_FORMAT', `containers nested deeper than ${maxDepth} at '${name}'`);
    if (v instanceof PyObject && v.type === 'tensor') {
      if (!tensors.has(name)) tensors.set(name, v.payload as Tensor);
      return;
    }
    const join = (k: string): string => (name === '' ? k : `${name}.${k}`);
    if (Array.isArray(v) || v instanceof PyTuple || v instanceof PyDict) {
      if (seen.has(v)) return;
      seen.add(v);
      if (v instanceof PyDict) for (const [k, x] of v.entries()) walk(x, join(keyName(k)), depth + 1);
      else (Array.isArray(v) ? v : v.items).forEach((x, i) => walk(x, join(String(i)), depth + 1));
      seen.delete(v);
      return;
    }
    const key = name === '' ? rootName : name;
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') metadata[key] = pyRepr(v);
    else metadata[key] = `<${typeName(v)}>`;
  };
  if (rootObj instanceof PyObject && rootObj.type === 'tensor') tensors.set(rootName, rootObj.payload as Tensor);
  else walk(rootObj, '', 0);
  return { tensors, metadata };
}

function keyName(k: PyValue): string {
  if (typeof k === 'string') return k;
  if (k instanceof PyTuple) return k.items.map(keyName).join(',');
  return pyRepr(k);
}

function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return String(v);
  return `<${typeName(v)}>`;
}

/** Reads a zip-format `.pt` held in memory. */
export function parsePt(bytes: Uint8Array, file: string, options: PtOptions = {}): PtContent {
  return flattenPt(loadPt(bytes, file, options), basename(file, extname(file)));
}
