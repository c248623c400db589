/** NumPy `.npz` reader: a zip of `.npy` files, stored or deflated. */
import { BenchalignError } from '../errors.js';
import { parseNpy } from './npy.js';
import type { NamedTensors } from './tensor.js';
import { isZip, readZip, type ZipLimits } from './zip.js';

/** Decodes an `.npz` archive held in memory; tensor names are the entry names without `.npy`. */
export function parseNpz(bytes: Uint8Array, file: string, limits: ZipLimits = {}): NamedTensors {
  if (!isZip(bytes)) throw new BenchalignError('E_TENSOR_FORMAT', 'not an .npz (zip) file', { file, expected: "a zip archive starting with 'PK\\x03\\x04'" });
  const { entries, files } = readZip(bytes, file, (n) => n.endsWith('.npy'), limits);
  const out: NamedTensors = new Map();
  for (const e of entries) {
    const data = files.get(e.name);
    if (data === undefined) continue;
    out.set(e.name.slice(0, -4), parseNpy(data, `${file}:${e.name}`));
  }
  return out;
}
