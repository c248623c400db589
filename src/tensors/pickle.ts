/**
 * A pickle virtual machine that only builds values (protocols 2-5, binary opcodes).
 *
 * It never imports or calls anything: GLOBAL/STACK_GLOBAL ask the caller's `resolveGlobal`,
 * which returns a {@link PyGlobal} marker for an allowlisted name or throws; REDUCE/NEWOBJ hand
 * a marker and its arguments to the caller's `call`, which builds a value for the handful of
 * names it knows. A name that is not allowlisted therefore can never reach REDUCE.
 */
import { BenchalignError } from '../errors.js';

/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
/** A Python dict, OrderedDict or Counter (insertion order kept). */
export class PyDict {
  readonly map = new Map<unknown, PyValue>();
  readonly keys = new Map<unknown, PyValue>();
  set(k: PyValue, v: PyValue): void {
    const key = dictKey(k);
    if (!this.map.has(key)) this.keys.set(key, k);
    this.map.set(key, v);
  }
  *entries(): IterableIterator<[PyValue, PyValue]> {
    for (const [key, v] of this.map) yield [this.keys.get(key) as PyValue, v];
  }
  get size(): number {
    return this.map.size;
  }
}
/** A Python set or frozenset. */
export class PySet {
  constructor(readonly items: PyValue[]) {}
}
/** An allowlisted global, by its dotted name; a marker, never a callable. */
export class PyGlobal {
  constructor(readonly name: string) {}
}
/** A value built by the caller's hooks (a tensor, a storage, a dtype, ...). */
export class PyObject {
  constructor(
    readonly type: string,
    public payload: unknown,
  ) {}
}
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PySet | PyGlobal | PyObject;

function dictKey(k: PyValue): unknown {
  if (typeof k === 'bigint' && Number.isSafeInteger(Number(k))) return Number(k);
  if (typeof k === 'boolean') return k ? 1 : 0;
  if (k instanceof PyTuple && k.items.every((i) => i === null || ['string', 'number', 'boolean'].includes(typeof i))) return `\u0000tuple:${JSON.stringify(k.items)}`;
  return k;
}

/** What the unpickler may do beyond building plain values. */
export interface UnpickleHooks {
  /** Returns the marker for an allowlisted `module.name`, or throws E_UNSAFE_PICKLE. */
  resolveGlobal(module: string, name: string): PyValue;
  /** Applies an allowlisted global to its arguments (REDUCE, NEWOBJ). */
  call(fn: PyGlobal, args: PyValue[], opcode: 'REDUCE' | 'NEWOBJ'): PyValue;
  /** BINPERSID: the object a persistent id stands for. */
  persistentLoad(pid: PyValue): PyValue;
  /** BUILD on a value the hooks built; default: refuse. */
  build?(inst: PyValue, state: PyValue): PyValue;
}

/** Caps on the work one pickle may cause. */
export interface UnpickleLimits {
  /** Most values on the stack (all MARK levels together). Default 1e6. */
  maxStack?: number;
  /** Most memo entries. Default 1e6. */
  maxMemo?: number;
  /** Deepest MARK nesting. Default 1000. */
  maxMarkDepth?: number;
}

const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

/** Runs `bytes` (a whole pickle) and returns the object it builds. */
export function unpickle(bytes: Uint8Array, file: string, hooks: UnpickleHooks, limits: UnpickleLimits = {}): PyValue {
  const maxStack = limits.maxStack ?? 1_000_000;
  const maxMemo = limits.maxMemo ?? 1_000_000;
  const maxMarkDepth = limits.maxMarkDepth ?? 1000;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let stack: PyValue[] = [];
  const metastack: PyValue[][] = [];
  let depthTotal = 0;
  const memo = new Map<number, PyValue>();

  const fail = (msg: string, expected?: string): never => {
    throw new BenchalignError('E_TENSOR_FORMAT', `pickle at byte ${pos}: ${msg}`, expected !== undefined ? { file, expected } : { file });
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail('truncated pickle', 'a complete pickle ending with STOP');
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = (): number => bytes[need(1)] as number;
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) fail(`length ${v} is past the end of the pickle`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    const p = need(n);
    return bytes.subarray(p, p + n);
  };
  const str = (n: number): string => {
    try {
      return utf8.decode(take(n));
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 4096) fail('unterminated GLOBAL name');
    const s = Buffer.from(bytes.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const push = (v: PyValue): void => {
    if (depthTotal + stack.length >= maxStack) fail(`more than ${maxStack} values on the stack`, `at most ${maxStack}`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) return fail('no MARK to pop to');
    depthTotal -= prev.length;
    stack = prev;
    return items;
  };
  const memoPut = (i: number): void => {
    if (!memo.has(i) && memo.size >= maxMemo) fail(`more than ${maxMemo} memo entries`, `at most ${maxMemo}`);
    memo.set(i, top());
  };
  const memoGet = (i: number): void => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    push(memo.get(i) as PyValue);
  };
  const int = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i] as number);
    v = BigInt.asIntN(raw.length * 8, v);
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  };
  const global = (module: string, name: string): void => {
    push(hooks.resolveGlobal(PY2_MODULES[module] ?? module, name));
  };
  const setItems = (target: PyValue, items: PyValue[], op: string): void => {
    if (!(target instanceof PyDict)) fail(`${op} on a ${typeName(target)}`, 'a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as PyDict).set(items[i] as PyValue, items[i + 1] as PyValue);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5', 'protocol 2 to 5');
        break;
      case 0x95: // FRAME
        need(8);
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        if (metastack.length >= maxMarkDepth) fail(`MARK nesting deeper than ${maxMarkDepth}`);
        metastack.push(stack);
        depthTotal += stack.length;
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(dv.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(int(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = dv.getInt32(need(4), true);
        if (n < 0 || n > 1024) fail(`LONG4 of ${n} bytes`, 'an integer of at most 1024 bytes');
        push(int(take(n)));
        break;
      }
      case 0x47: // BINFLOAT
        push(dv.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(str(u64()));
        break;
      case 0x55: // SHORT_BINSTRING
        push(Buffer.from(take(u8())).toString('latin1'));
        break;
      case 0x54: {
        // BINSTRING
        const n = dv.getInt32(need(4), true);
        push(Buffer.from(take(n)).toString('latin1'));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const item = pop();
        const list = top();
        if (!Array.isArray(list)) fail(`APPEND to a ${typeName(list)}`, 'a list');
        (list as PyValue[]).push(item);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail(`APPENDS to a ${typeName(list)}`, 'a list');
        for (const it of items) (list as PyValue[]).push(it);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark(), 'DICT');
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v], 'SETITEM');
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items, 'SETITEMS');
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new PySet([]));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) fail(`ADDITEMS to a ${typeName(s)}`, 'a set');
        (s as PySet).items.push(...items);
        break;
      }
      case 0x91: // FROZENSET
        push(new PySet(popMark()));
        break;
      case 0x63: // GLOBAL
        global(line(), line());
        break;
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without two strings');
        global(module as string, name as string);
        break;
      }
      case 0x69: {
        // INST: resolves a class and instantiates it; only the allowlist can get past resolveGlobal
        const g = hooks.resolveGlobal(line(), line());
        throw new BenchalignError('E_UNSUPPORTED', `pickle uses INST for ${g instanceof PyGlobal ? g.name : 'a global'}`, { file, expected: 'REDUCE/NEWOBJ (pickle protocol 2 or later)' });
      }
      case 0x6f: // OBJ
        return fail('OBJ opcode is not supported', 'pickle protocol 2 or later');
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4
        throw new BenchalignError('E_UNSAFE_PICKLE', 'pickle uses the copyreg extension registry (EXT opcodes), which can name any callable; refused', {
          file,
          expected: 'GLOBAL names from the allowlist only',
        });
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) fail(`REDUCE on a ${typeName(fn)}`, 'an allowlisted global');
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        push(hooks.call(fn as PyGlobal, (args as PyTuple).items, 'REDUCE'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal)) fail(`NEWOBJ on a ${typeName(cls)}`, 'an allowlisted class');
        if (!(args instanceof PyTuple)) fail('NEWOBJ arguments are not a tuple');
        push(hooks.call(cls as PyGlobal, (args as PyTuple).items, 'NEWOBJ'));
        break;
      }
      case 0x92: // NEWOBJ_EX
        throw new BenchalignError('E_UNSUPPORTED', 'pickle uses NEWOBJ_EX (keyword-argument construction)', { file, expected: 'the opcodes torch.save emits' });
      case 0x62: {
        // BUILD
        const state = pop();
        const inst = pop();
        if (inst instanceof PyDict) push(inst);
        else if (hooks.build) push(hooks.build(inst, state));
        else fail(`BUILD on a ${typeName(inst)}`, 'BUILD only on OrderedDict or tensors');
        break;
      }
      case 0x51: // BINPERSID
        push(hooks.persistentLoad(pop()));
        break;
      case 0x50: // PERSID
        return fail('text PERSID opcode is not supported', 'BINPERSID (pickle protocol 1 or later)');
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      default:
        if ('ILFSVgp'.includes(String.fromCharCode(op))) {
          throw new BenchalignError('E_UNSUPPORTED', `text (protocol 0) pickle opcode '${String.fromCharCode(op)}'`, { file, expected: 'a binary pickle (protocol 2 to 5)' });
        }
        fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`, 'a pickle opcode of protocol 2 to 5');
    }
  }
}

/** A short Python-ish type name for messages. */
export function typeName(v: PyValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PySet) return 'set';
  if (v instanceof PyGlobal) return `global ${v.name}`;
  if (v instanceof PyObject) return v.type;
  return typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'bool' : 'str';
}
