import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { PyDict, PyGlobal, unpickle, type PyTuple, type UnpickleHooks } from '../../src/tensors/pickle.js';

const calls: string[] = [];
const hooks: UnpickleHooks = {
  resolveGlobal: (m, n) => {
    if (`${m}.${n}` === 'collections.OrderedDict') return new PyGlobal('collections.OrderedDict');
    throw new BenchalignError('E_UNSAFE_PICKLE', `GLOBAL ${m}.${n}`);
  },
  call: (fn) => {
    calls.push(fn.name);
    return new PyDict();
  },
  persistentLoad: () => null,
};
const P = (...parts: Array<string | number[]>): Uint8Array => new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
const run = (b: Uint8Array) => unpickle(b, 'mem.pkl', hooks);

describe('pickle VM', () => {
  it('builds plain values: ints, longs, floats, strings, bytes, tuples, lists, dicts, memo', () => {
    // {'a': [1, 300, -5, 2**70, 1.5, None, True], 'b': (b'xy', 'é')} with memo reuse
    const long70 = [0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40];
    const b = P([0x80, 2], '}q', [0], '(X', [1, 0, 0, 0], 'a]q', [1], '(K', [1], 'M', [44, 1], 'J', [0xfb, 0xff, 0xff, 0xff], long70, 'G', [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], 'N', [0x88], 'eX', [1, 0, 0, 0], 'bC', [2], 'xy', [0x8c, 2, 0xc3, 0xa9], [0x86], 'uh', [1], '.');
    const v = run(b);
    expect(v).toBeInstanceOf(Array);
    expect(v).toEqual([1, 300, -5, 2n ** 70n, 1.5, null, true]);
  });
  it('keeps dict insertion order and tuple keys', () => {
    const v = run(P([0x80, 2], '}(X', [1, 0, 0, 0], 'zK', [1], 'X', [1, 0, 0, 0], 'aK', [2], 'u.')) as PyDict;
    expect([...v.entries()].map(([k]) => k)).toEqual(['z', 'a']);
  });
  it('refuses a non-allowlisted GLOBAL before anything can call it', () => {
    calls.length = 0;
    expect(() => run(P([0x80, 2], 'cos\nsystem\nX', [2, 0, 0, 0], 'ls', [0x85], 'R.'))).toThrow(/GLOBAL os.system/);
    expect(calls).toEqual([]);
  });
  it('refuses STACK_GLOBAL the same way', () => {
    expect(() => run(P([0x80, 4, 0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93], ')R.'))).toThrow(/GLOBAL builtins.eval/);
  });
  it('refuses REDUCE on a value that is not an allowlisted global', () => {
    expect(() => run(P([0x80, 2], 'X', [1, 0, 0, 0], 'f)R.'))).toThrow(expect.objectContaining({ code: 'E_TENSOR_FORMAT' }) as Error);
  });
  it('refuses EXT opcodes as unsafe', () => {
    expect(() => run(P([0x80, 2, 0x82, 1], ')R.'))).toThrow(expect.objectContaining({ code: 'E_UNSAFE_PICKLE' }) as Error);
  });
  it('maps the Python 2 module name __builtin__ to builtins', () => {
    expect(() => run(P([0x80, 2], 'c__builtin__\nexec\n.'))).toThrow(/builtins.exec/);
  });
  it('calls allowlisted globals through the hook only', () => {
    calls.length = 0;
    const v = run(P([0x80, 2], 'ccollections\nOrderedDict\n)R.'));
    expect(v).toBeInstanceOf(PyDict);
    expect(calls).toEqual(['collections.OrderedDict']);
  });
  it('caps memo size, stack size and MARK depth', () => {
    const memo = P([0x80, 2, 0x4e], ...Array.from({ length: 20 }, (_, i) => [0x71, i]), '.');
    expect(() => unpickle(memo, 'm', hooks, { maxMemo: 10 })).toThrow(/memo/);
    const stack = P([0x80, 2], ...Array.from({ length: 50 }, () => [0x4e]), '.');
    expect(() => unpickle(stack, 'm', hooks, { maxStack: 20 })).toThrow(/stack/);
    const marks = P([0x80, 2], ...Array.from({ length: 50 }, () => [0x28]), '.');
    expect(() => unpickle(marks, 'm', hooks, { maxMarkDepth: 20 })).toThrow(/MARK/);
  });
  it('reports truncation, unknown opcodes, bad memo keys and underflow as format errors', () => {
    for (const b of [P([0x80, 2], 'X', [9, 0, 0, 0], 'ab'), P([0x80, 2, 0xff]), P([0x80, 2], 'h', [3], '.'), P([0x80, 2], 's.'), P([0x80, 2], 'N')]) {
      expect(() => run(b)).toThrow(expect.objectContaining({ code: 'E_TENSOR_FORMAT' }) as Error);
    }
  });
  it('builds tuples of every arity', () => {
    const v = run(P([0x80, 2], 'K', [1], 'K', [2], 'K', [3], [0x87], '.')) as PyTuple;
    expect(v.items).toEqual([1, 2, 3]);
  });
});
