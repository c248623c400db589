/**
 * Lossless compact encoding of raw latency samples (one array per repeat) for the store.
 *
 * Layout: byte 0 is the format.
 * - 1 (`delta-varint`): every sample is a safe integer (nanoseconds). Then a varint repeat
 *   count; per repeat a varint length and its samples as zigzag varints of the difference to
 *   the previous sample of that repeat (the first against 0). A steady run's deltas are small,
 *   so most samples take 2-3 bytes instead of 8.
 * - 2 (`float64`): the fallback when a sample is not a safe integer or a delta is too large:
 *   varint repeat count, per repeat a varint length, then all samples as little-endian
 *   float64 (bit-exact, -0 and all finite values kept).
 * Varints are LEB128 on non-negative integers below 2^53, done with arithmetic, not 32-bit ops.
 */

const DELTA_VARINT = 1;
const FLOAT64 = 2;
const MAX_ZIGZAG_INPUT = 2 ** 51;

class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  varint(v: number): void {
    this.ensure(8);
    let x = v;
    while (x >= 128) {
      this.buf[this.len++] = (x % 128) + 128;
      x = Math.floor(x / 128);
    }
    this.buf[this.len++] = x;
  }

  float64s(xs: readonly number[]): void {
    this.ensure(xs.length * 8);
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.len, xs.length * 8);
    xs.forEach((x, i) => view.setFloat64(i * 8, x, true));
    this.len += xs.length * 8;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class ByteReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new Error('truncated samples blob');
    return b;
  }

  varint(): number {
    let x = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      x += (b & 127) * scale;
      if (b < 128) return x;
      scale *= 128;
      if (scale > 2 ** 56) throw new Error('bad varint in samples blob');
    }
  }

  float64s(n: number): number[] {
    if (this.pos + n * 8 > this.buf.length) throw new Error('truncated samples blob');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n * 8);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
    this.pos += n * 8;
    return out;
  }

  done(): boolean {
    return this.pos === this.buf.length;
  }
}

function fitsDeltaVarint(repeats: readonly (readonly number[])[]): boolean {
  for (const r of repeats) {
    let prev = 0;
    for (const x of r) {
      if (!Number.isSafeInteger(x) || Object.is(x, -0)) return false;
      if (Math.abs(x - prev) >= MAX_ZIGZAG_INPUT) return false;
      prev = x;
    }
  }
  return true;
}

/** Encodes samples (one array per repeat) losslessly. */
export function encodeSamples(repeats: readonly (readonly number[])[]): Uint8Array {
  const w = new ByteWriter();
  if (fitsDeltaVarint(repeats)) {
    w.byte(DELTA_VARINT);
    w.varint(repeats.length);
    for (const r of repeats) {
      w.varint(r.length);
      let prev = 0;
      for (const x of r) {
        const d = x - prev;
        w.varint(d >= 0 ? 2 * d : -2 * d - 1);
        prev = x;
      }
    }
  } else {
    w.byte(FLOAT64);
    w.varint(repeats.length);
    for (const r of repeats) w.varint(r.length);
    for (const r of repeats) w.float64s(r);
  }
  return w.bytes();
}

/** Decodes what `encodeSamples` wrote. Throws on a malformed blob. */
export function decodeSamples(blob: Uint8Array): number[][] {
  const r = new ByteReader(blob);
  const format = r.byte();
  const k = r.varint();
  const out: number[][] = [];
  if (format === DELTA_VARINT) {
    for (let i = 0; i < k; i++) {
      const n = r.varint();
      const rep = new Array<number>(n);
      let prev = 0;
      for (let j = 0; j < n; j++) {
        const z = r.varint();
        prev += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
        rep[j] = prev;
      }
      out.push(rep);
    }
  } else if (format === FLOAT64) {
    const lengths: number[] = [];
    for (let i = 0; i < k; i++) lengths.push(r.varint());
    for (const n of lengths) out.push(r.float64s(n));
  } else {
    throw new Error(`unknown samples blob format ${format}`);
  }
  if (!r.done()) throw new Error('trailing bytes in samples blob');
  return out;
}
