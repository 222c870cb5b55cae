// Summaries of samples: median, min, max, percentiles (nearest rank).

/**
 * @param {number[]} samples
 * @returns {{ n: number, median: number, min: number, max: number, p50: number, p99: number, samples: number[] } | null}
 */
export function summarize(samples) {
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { n: xs.length, median, min: xs[0], max: xs[xs.length - 1], p50: percentile(xs, 50), p99: percentile(xs, 99), samples };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/** A single measured value as a summary (n = 1). */
export function single(x) {
  return summarize([x]);
}
