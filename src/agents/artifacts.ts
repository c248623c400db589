/**
 * Client-side artifact helpers: sha256 of local files (cached by path, size and mtime, so a
 * file is hashed once per run however many agents need it), and the extra files an ONNX
 * model needs next to it (external data).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BenchalignError } from '../errors.js';
import { decodeModelProto, type PbTensor } from '../tensors/onnx-proto.js';

const hashes = new Map<string, { key: string; sha256: Promise<string> }>();

/** sha256 of a file, lowercase hex; hashed again only when its size or mtime changed. */
export async function hashFileCached(file: string): Promise<string> {
  const st = await stat(file);
  const key = `${st.size}/${st.mtimeMs}`;
  const hit = hashes.get(file);
  if (hit && hit.key === key) return hit.sha256;
  const sha256 = new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
  hashes.set(file, { key, sha256 });
  sha256.catch(() => hashes.delete(file));
  return sha256;
}

const extras = new Map<string, Promise<string[]>>();

/**
 * Files an ONNX model loads from its folder (initializers with external data), as absolute
 * paths. A location that leaves the model's folder is refused; other model formats have none.
 */
export function modelExtraFiles(modelPath: string): Promise<string[]> {
  let p = extras.get(modelPath);
  if (!p) {
    p = (async () => {
      if (!modelPath.toLowerCase().endsWith('.onnx')) return [];
      const bytes = await readFile(modelPath);
      const model = decodeModelProto(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), modelPath);
      const dir = path.dirname(modelPath);
      const out = new Set<string>();
      const visit = (t: PbTensor): void => {
        const loc = t.external_data?.find((e) => e.key === 'location')?.value;
        if (loc === undefined) return;
        const abs = path.resolve(dir, loc);
        const rel = path.relative(dir, abs);
        if (path.isAbsolute(loc) || rel.startsWith('..') || rel === '') {
          throw new BenchalignError('E_CONFIG', `initializer "${t.name}" has its data at "${loc}", outside the model's folder`, { file: modelPath, expected: 'external data next to the model' });
        }
        out.add(abs);
      };
      for (const t of model.graph?.initializer ?? []) visit(t);
      return [...out].sort();
    })();
    extras.set(modelPath, p);
    p.catch(() => extras.delete(modelPath));
  }
  return p;
}
