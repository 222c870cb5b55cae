/**
 * Cooperative yielding for loops over a resource's values. A resource may hold
 * 10,000 values; opening or sealing them all is about a second of synchronous
 * work, during which a controller could not answer its health probes or other
 * requests. Awaiting this once per value gives the event loop a turn every
 * {@link YIELD_EVERY} values.
 */

/** How many values are handled between two turns of the event loop. */
export const YIELD_EVERY = 256;

/** Resolves at once, except on every {@link YIELD_EVERY}th call index, where it waits for one event-loop turn. */
export function turnEvery(index: number): Promise<void> | undefined {
  if (index === 0 || index % YIELD_EVERY !== 0) return undefined;
  return new Promise((resolve) => setImmediate(resolve));
}
