/**
 * Runs `work` on every item, at most `concurrency` at a time, taking items in
 * list order. Once `stopped()` returns true no further item starts; the ones
 * already started finish. Rejects with the first error `work` throws; the
 * other workers go on with the items left, as nothing can cancel a write
 * half done.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  stopped: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopped() && next < items.length) {
      await work(items[next++] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
