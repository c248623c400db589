/**
 * Bounded concurrency for work over many files (a suite's models): at most `limit` calls of
 * `fn` are in flight, so a suite of 30,000 models never opens 30,000 files at once.
 */

/** Default number of model files a suite load reads at once. */
export const FILE_CONCURRENCY = 16;

/** Calls `fn` on every item with at most `limit` in flight; results in item order. Stops starting new calls once `signal` is aborted. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
