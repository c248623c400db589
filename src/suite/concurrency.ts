import { BenchalignError } from '../errors.js';

/**
 * Bounded concurrency for work over many files (a suite's models): at most `limit` calls of
 * `fn` are in flight, so a suite of 30,000 models never opens 30,000 files at once.
 */

/** Default number of model files a suite load reads at once. */
export const FILE_CONCURRENCY = 16;

/** Calls `fn` on every item with at most `limit` in flight; results in item order. Once `signal` is aborted, starts no new call and throws E_INFRA (exit 3, as an interrupted run). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (signal?.aborted) throw new BenchalignError('E_INFRA', 'interrupted');
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
