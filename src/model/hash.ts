import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

/** Files up to this size are read whole (one read, no stream); larger ones are streamed. */
const WHOLE_FILE_BYTES = 4 * 2 ** 20;

/** sha256 of a file's bytes, lowercase hex; streamed in 1 MiB chunks for large files. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  if ((await stat(file)).size <= WHOLE_FILE_BYTES) return hash.update(await readFile(file)).digest('hex');
  for await (const chunk of createReadStream(file, { highWaterMark: 2 ** 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
