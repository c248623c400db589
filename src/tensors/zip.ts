/**
 * Zip access for .npz and .pt through fflate, with guards against zip bombs: every entry's
 * declared uncompressed size is capped, as is its compression ratio, and inflation writes into
 * a buffer of exactly the declared size, so the actual output can never exceed it.
 */
import { unzipSync } from 'fflate';
import { BenchalignError } from '../errors.js';
import { asFormatError } from './layout.js';

/** Limits applied while reading zip archives. */
export interface ZipLimits {
  /** Largest declared uncompressed size of one entry, in bytes. Default 8 GiB. */
  maxEntryBytes?: number;
  /** Largest sum of the uncompressed sizes of all entries read, in bytes. Default 16 GiB. */
  maxTotalBytes?: number;
  /**
   * Largest uncompressed/compressed ratio of a deflated entry (checked for entries over 1 MiB).
   * Default 1100: deflate cannot exceed about 1032:1, so a higher declared ratio is a forged
   * size, while an honest all-zero tensor (about 1030:1) still reads.
   */
  maxRatio?: number;
  /** Most entries in the central directory. Default 100000. */
  maxEntries?: number;
}

export const DEFAULT_ZIP_LIMITS: Required<ZipLimits> = {
  maxEntryBytes: 8 * 2 ** 30,
  maxTotalBytes: 16 * 2 ** 30,
  maxRatio: 1100,
  maxEntries: 100_000,
};

/** One central-directory entry. */
export interface ZipEntryInfo {
  name: string;
  /** Compressed size in bytes. */
  sizeBytes: number;
  /** Declared uncompressed size in bytes. */
  originalSizeBytes: number;
  /** 0 stored, 8 deflated. */
  compression: number;
}

export const isZip = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/**
 * Lists the archive's entries (in central-directory order) and extracts those `want` selects.
 * Throws E_TENSOR_FORMAT for a corrupt archive and for any entry over the limits.
 */
export function readZip(
  bytes: Uint8Array,
  file: string,
  want: (name: string) => boolean,
  limits: ZipLimits = {},
): { entries: ZipEntryInfo[]; files: Map<string, Uint8Array> } {
  const lim = { ...DEFAULT_ZIP_LIMITS, ...limits };
  const entries: ZipEntryInfo[] = [];
  let totalBytes = 0;
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, {
      filter: (f) => {
        const e: ZipEntryInfo = { name: f.name, sizeBytes: f.size, originalSizeBytes: f.originalSize, compression: f.compression };
        if (entries.length >= lim.maxEntries) throw zipError(file, `more than ${lim.maxEntries} entries`, `at most ${lim.maxEntries}`);
        if (!Number.isSafeInteger(e.sizeBytes) || !Number.isSafeInteger(e.originalSizeBytes) || e.sizeBytes < 0 || e.originalSizeBytes < 0) {
          throw zipError(file, `entry '${e.name}' has invalid sizes`, 'a valid central directory');
        }
        if (e.sizeBytes > bytes.length) throw zipError(file, `entry '${e.name}' claims ${e.sizeBytes} compressed bytes in a ${bytes.length}-byte file`, 'entries inside the file');
        if (e.compression !== 0 && e.compression !== 8) {
          throw new BenchalignError('E_UNSUPPORTED', `entry '${e.name}' uses zip compression method ${e.compression}`, { file, expected: 'stored (0) or deflated (8)' });
        }
        if (e.compression === 0 && e.sizeBytes !== e.originalSizeBytes) throw zipError(file, `stored entry '${e.name}' has different compressed and uncompressed sizes`, 'equal sizes');
        entries.push(e);
        if (!want(e.name)) return false;
        if (e.originalSizeBytes > lim.maxEntryBytes) {
          throw zipError(file, `entry '${e.name}' declares ${e.originalSizeBytes} uncompressed bytes, over the ${lim.maxEntryBytes}-byte limit (zip bomb?)`, `at most ${lim.maxEntryBytes} bytes per entry`);
        }
        if (e.compression === 8 && e.originalSizeBytes > lim.maxRatio * Math.max(e.sizeBytes, 1) && e.originalSizeBytes > 1 << 20) {
          throw zipError(file, `entry '${e.name}' expands ${e.sizeBytes} bytes to ${e.originalSizeBytes} (ratio over ${lim.maxRatio}; zip bomb?)`, `a compression ratio of at most ${lim.maxRatio}`);
        }
        totalBytes += e.originalSizeBytes;
        if (totalBytes > lim.maxTotalBytes) throw zipError(file, `entries total over ${lim.maxTotalBytes} uncompressed bytes (zip bomb?)`, `at most ${lim.maxTotalBytes} bytes in all`);
        return true;
      },
    });
  } catch (e) {
    throw asFormatError(e, file, 'corrupt zip archive');
  }
  const files = new Map<string, Uint8Array>();
  for (const e of entries) {
    const data = raw[e.name];
    if (data === undefined) continue;
    if (data.length !== e.originalSizeBytes) {
      throw zipError(file, `entry '${e.name}' inflated to ${data.length} bytes but declares ${e.originalSizeBytes}`, 'the declared size');
    }
    files.set(e.name, data);
  }
  return { entries, files };
}

function zipError(file: string, message: string, expected: string): BenchalignError {
  return new BenchalignError('E_TENSOR_FORMAT', message, { file, expected });
}
