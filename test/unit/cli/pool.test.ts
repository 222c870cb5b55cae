import { describe, expect, it } from 'vitest';
import { forEachLimit } from '../../../cli/pool.js';

/** A promise with its resolve function, to hold a worker until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('forEachLimit', () => {
  it('never runs more items at once than the limit, and starts them in list order', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await forEachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 * (n % 3)));
      running--;
    });

    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts no item once stopped, and lets the ones running finish', async () => {
    const held = gate();
    const done: string[] = [];
    let stop = false;
    const run = forEachLimit(['a', 'b', 'c', 'd'], 2, async (item) => {
      if (item === 'a') await held.promise;
      done.push(item);
      if (item === 'b') stop = true;
    }, () => stop);
    held.open();
    await run;

    expect(done).toEqual(['b', 'a']);
  });

  it('rejects with the error of the item that failed', async () => {
    const failure = new Error('item 2 failed');
    const run = forEachLimit([1, 2, 3], 2, (n) => (n === 2 ? Promise.reject(failure) : Promise.resolve()));

    await expect(run).rejects.toBe(failure);
  });

  it('does nothing for no items', async () => {
    let calls = 0;
    await forEachLimit([], 4, () => {
      calls++;
      return Promise.resolve();
    });

    expect(calls).toBe(0);
  });
});
