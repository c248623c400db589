/**
 * The input and output names of an ONNX model, read by walking the protobuf wire format with
 * positioned reads: only the graph's value-info names are read, the weights (initializer data)
 * are skipped by length, so a 2 GB model costs a few small reads and no memory.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Input (initializers excluded) and output names of an ONNX model, in graph order. */
export interface OnnxIoNames {
  inputs: string[];
  outputs: string[];
}

const BLOCK = 64 * 1024;

/** Byte reads at any position through a small cache of 64 KiB blocks. */
class BlockReader {
  private readonly blocks = new Map<number, Buffer>();

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  private async block(i: number): Promise<Buffer> {
    let b = this.blocks.get(i);
    if (b === undefined) {
      if (this.blocks.size >= 16) this.blocks.delete(this.blocks.keys().next().value as number);
      const buf = Buffer.alloc(Math.min(BLOCK, this.size - i * BLOCK));
      await this.fh.read(buf, 0, buf.length, i * BLOCK);
      b = buf;
      this.blocks.set(i, b);
    }
    return b;
  }

  async byte(pos: number): Promise<number> {
    if (pos >= this.size) throw new WireError();
    const b = await this.block(Math.floor(pos / BLOCK));
    return b[pos % BLOCK] as number;
  }

  async text(pos: number, len: number): Promise<string> {
    if (len > 64 * 1024 || pos + len > this.size) throw new WireError();
    const buf = Buffer.alloc(len);
    await this.fh.read(buf, 0, len, pos);
    return buf.toString('utf8');
  }
}

class WireError extends Error {}

async function varint(r: BlockReader, pos: number): Promise<[number, number]> {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = await r.byte(pos + i);
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  throw new WireError();
}

/** Calls `visit` for each length-delimited field in [start, end); other fields are skipped. */
async function fields(r: BlockReader, start: number, end: number, visit: (field: number, pos: number, len: number) => Promise<void>): Promise<void> {
  let pos = start;
  while (pos < end) {
    const [tag, p] = await varint(r, pos);
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === 0) pos = (await varint(r, p))[1];
    else if (wire === 1) pos = p + 8;
    else if (wire === 5) pos = p + 4;
    else if (wire === 2) {
      const [len, q] = await varint(r, p);
      if (q + len > end) throw new WireError();
      await visit(field, q, len);
      pos = q + len;
    } else throw new WireError();
  }
  if (pos !== end) throw new WireError();
}

async function nameField(r: BlockReader, pos: number, len: number, nameNumber: number): Promise<string | undefined> {
  let name: string | undefined;
  await fields(r, pos, pos + len, async (f, p, l) => {
    if (f === nameNumber && name === undefined) name = await r.text(p, l);
  });
  return name;
}

// ModelProto.graph = 7; GraphProto.initializer = 5, .input = 11, .output = 12;
// ValueInfoProto.name = 1; TensorProto.name = 8.
/**
 * The I/O names of the ONNX model in `file`, or undefined when the file is not a readable
 * ONNX model (the engine then reports it when the job runs).
 */
export async function readOnnxIoNames(file: string): Promise<OnnxIoNames | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const r = new BlockReader(fh, (await fh.stat()).size);
    const inputs: string[] = [];
    const outputs: string[] = [];
    const inits = new Set<string>();
    let graphs = 0;
    await fields(r, 0, r.size, async (f, p, l) => {
      if (f !== 7) return;
      graphs++;
      await fields(r, p, p + l, async (g, q, m) => {
        if (g !== 5 && g !== 11 && g !== 12) return;
        const name = await nameField(r, q, m, g === 5 ? 8 : 1);
        if (name === undefined) return;
        if (g === 5) inits.add(name);
        else (g === 11 ? inputs : outputs).push(name);
      });
    });
    if (graphs !== 1 || outputs.length === 0) return undefined;
    return { inputs: inputs.filter((n) => !inits.has(n)), outputs };
  } catch (e) {
    if (e instanceof WireError) return undefined;
    throw e;
  } finally {
    await fh.close();
  }
}
