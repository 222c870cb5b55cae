// Reading a controller's Prometheus /metrics in tests.

/** One sample of the text exposition format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Returns the /metrics text of a controller.
 * @throws {Error} when it does not answer 200
 */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${url}/metrics: HTTP ${res.status}`);
  return res.text();
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition format; comments are skipped. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * Returns the sum of the samples named `name` whose labels pass `filter`;
 * 0 when there is none (a counter that never moved has no sample).
 */
export function metricValue(text: string, name: string, filter: (labels: Readonly<Record<string, string>>) => boolean = () => true): number {
  return parseMetrics(text).filter((s) => s.name === name && filter(s.labels)).reduce((n, s) => n + s.value, 0);
}
