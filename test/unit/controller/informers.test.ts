import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackoffOptions, ScopeInformer } from '../../../src/controller/informers.js';
import { Backoff, Informers, REFLECTOR_BACKOFF, relistReporter } from '../../../src/controller/informers.js';
import type { Logger } from '../../../src/controller/log.js';
import { Metrics } from '../../../src/controller/metrics.js';

interface Obj { metadata: { namespace: string; name: string } }

/**
 * One scope's informer as client-node's ListWatch behaves: start() lists
 * and watches, and a failed list or watch is reported through 'error'
 * without rejecting; `failures` says what the next starts do.
 */
class ScriptedInformer implements ScopeInformer<Obj> {
  readonly namespace: string | undefined;
  /** Outcome of each coming start(): 'error' reports through 'error', 'throw' rejects; then 'ok'. */
  readonly failures: ('error' | 'throw')[] = [];
  readonly objects = new Map<string, Obj>();
  starts = 0;
  stopped = false;
  readonly #cbs = { add: [] as ((o: Obj) => void)[], update: [] as ((o: Obj) => void)[], delete: [] as ((o: Obj) => void)[], error: [] as ((e?: unknown) => void)[] };

  constructor(namespace: string | undefined) {
    this.namespace = namespace;
  }

  on(verb: 'add' | 'update' | 'delete', cb: (obj: Obj) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  on(verb: 'add' | 'update' | 'delete' | 'error', cb: ((obj: Obj) => void) | ((err?: unknown) => void)): void {
    (this.#cbs[verb] as unknown[]).push(cb);
  }

  start(): Promise<void> {
    this.starts++;
    this.stopped = false;
    const next = this.failures.shift();
    if (next === 'throw') return Promise.reject(new Error('credentials could not be loaded'));
    if (next === 'error') this.fail(new Error('list: HTTP 503'));
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** Reports a failed list or watch, as the client does. */
  fail(err: unknown): void {
    for (const cb of this.#cbs.error) cb(err);
  }

  add(name: string): Obj {
    const obj = { metadata: { namespace: this.namespace ?? 'default', name } };
    this.objects.set(name, obj);
    for (const cb of this.#cbs.add) cb(obj);
    return obj;
  }

  get(name: string, namespace?: string): Obj | undefined {
    const obj = this.objects.get(name);
    return obj !== undefined && (namespace === undefined || obj.metadata.namespace === namespace) ? obj : undefined;
  }

  list(): readonly Obj[] {
    return [...this.objects.values()];
  }
}

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done): void {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Informers over ScriptedInformers, no jitter unless `random` is given. */
function scripted(scopes: (string | undefined)[], random: () => number = () => 0): { informers: Informers<Obj>; scopes: ScriptedInformer[]; lines: Record<string, unknown>[]; added: Obj[] } {
  const made: ScriptedInformer[] = [];
  const added: Obj[] = [];
  const { log, lines } = capturingLogger();
  const informers = new Informers<Obj>({
    kind: 'things', scopes, log, random,
    open: (ns) => {
      const i = new ScriptedInformer(ns);
      made.push(i);
      return i;
    },
    onAdd: (o) => added.push(o),
  });
  return { informers, scopes: made, lines, added };
}

const retries = (lines: readonly Record<string, unknown>[]): unknown[] => lines.filter((l) => l.msg === 'watch failed; restarting').map((l) => l.retryInMs);

describe('Backoff', () => {
  const o: BackoffOptions = { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1, resetAfterMs: 120_000 };

  it('doubles from the first delay up to the cap', () => {
    let now = 0;
    const b = new Backoff(o, () => 0, () => now);
    const delays = Array.from({ length: 9 }, () => { now += 1000; return b.next(); });
    expect(delays).toEqual([800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('stretches each delay by the jitter: up to double with jitter 1, within [d, 2d)', () => {
    const b = new Backoff(o, () => 0.5, () => 0);
    expect([b.next(), b.next(), b.next()]).toEqual([1200, 2400, 4800]);
    const capped = new Backoff({ ...o, initialMs: 30_000 }, () => 0.999, () => 0);
    expect(capped.next()).toBeLessThan(60_000);
    expect(capped.next()).toBeGreaterThanOrEqual(59_000);
  });

  it('starts again from the first delay after a quiet spell longer than resetAfterMs, not before', () => {
    let now = 0;
    const b = new Backoff(o, () => 0, () => now);
    expect([b.next(), b.next(), b.next()]).toEqual([800, 1600, 3200]);
    now += 120_000;
    expect(b.next()).toBe(6400);
    now += 120_001;
    expect(b.next()).toBe(800);
  });

  it('keeps client-go reflector values as the default', () => {
    expect(REFLECTOR_BACKOFF).toEqual({ initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1, resetAfterMs: 120_000 });
  });
});

describe('Informers', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('makes one informer per scope at construction, so get and list work before start', async () => {
    const { informers, scopes } = scripted(['a', 'b']);
    expect(scopes.map((s) => s.namespace)).toEqual(['a', 'b']);
    expect(informers.list()).toEqual([]);
    expect(informers.get('a', 'x')).toBeUndefined();
    await informers.start();
    expect(scopes.map((s) => s.starts)).toEqual([1, 1]);
    const x = scopes[1]?.add('x');
    expect(informers.get('b', 'x')).toBe(x);
    expect(informers.get('a', 'x')).toBeUndefined();
    expect(informers.list()).toEqual([x]);
  });

  it('passes events to the handlers', async () => {
    const { informers, scopes, added } = scripted([undefined]);
    await informers.start();
    const y = scopes[0]?.add('y');
    expect(added).toEqual([y]);
  });

  it('restarts a failed watch after growing delays, and logs each', async () => {
    const { informers, scopes, lines } = scripted(['a']);
    const scope = scopes[0];
    if (scope === undefined) throw new Error('no scope');
    scope.failures.push('error', 'error', 'error');
    await informers.start();
    expect(retries(lines)).toEqual([800]);
    await vi.advanceTimersByTimeAsync(799);
    expect(scope.starts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(scope.starts).toBe(2);
    await vi.advanceTimersByTimeAsync(1600);
    expect(scope.starts).toBe(3);
    await vi.advanceTimersByTimeAsync(3200);
    expect(scope.starts).toBe(4);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scope.starts).toBe(4); // the fourth start succeeded
    expect(retries(lines)).toEqual([800, 1600, 3200]);
    expect(lines[0]).toMatchObject({ kind: 'things', err: 'list: HTTP 503', level: 40 });
  });

  it('keeps restarting when the restart itself rejects, instead of leaving the scope dead', async () => {
    const { informers, scopes, lines } = scripted(['a']);
    const scope = scopes[0];
    if (scope === undefined) throw new Error('no scope');
    await informers.start();
    scope.failures.push('throw', 'throw');
    scope.fail(new Error('watch closed: HTTP 500'));
    await vi.advanceTimersByTimeAsync(800 + 1600 + 3200);
    expect(scope.starts).toBe(4);
    expect(retries(lines)).toEqual([800, 1600, 3200]);
    expect(lines.map((l) => l.err)).toEqual(['watch closed: HTTP 500', 'credentials could not be loaded', 'credentials could not be loaded']);
  });

  it('schedules one restart however many errors arrive while it waits', async () => {
    const { informers, scopes, lines } = scripted(['a']);
    const scope = scopes[0];
    if (scope === undefined) throw new Error('no scope');
    await informers.start();
    scope.fail(new Error('one'));
    scope.fail(new Error('two'));
    scope.fail(new Error('three'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(scope.starts).toBe(2);
    expect(retries(lines)).toEqual([800]);
  });

  it('backs off each scope on its own', async () => {
    const { informers, scopes, lines } = scripted(['a', 'b']);
    const [a, b] = scopes;
    if (a === undefined || b === undefined) throw new Error('no scope');
    a.failures.push('error', 'error');
    await informers.start();
    await vi.advanceTimersByTimeAsync(800);
    b.fail(new Error('b failed'));
    expect(retries(lines)).toEqual([800, 1600, 800]);
  });

  it('jitters the delays with the random source', async () => {
    const { informers, scopes, lines } = scripted(['a'], () => 0.25);
    scopes[0]?.failures.push('error', 'error');
    await informers.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(retries(lines)).toEqual([1000, 2000]);
  });

  it('cancels a waiting restart on stop, and ignores errors after it', async () => {
    const { informers, scopes, lines } = scripted(['a']);
    const scope = scopes[0];
    if (scope === undefined) throw new Error('no scope');
    scope.failures.push('error');
    await informers.start();
    await informers.stop();
    expect(scope.stopped).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    scope.fail(new Error('late'));
    await vi.advanceTimersByTimeAsync(120_000);
    expect(scope.starts).toBe(1);
    expect(retries(lines)).toEqual([800]);
  });

  it('rejects start when a scope throws, as when the client cannot load its credentials', async () => {
    const { informers, scopes } = scripted(['a']);
    scopes[0]?.failures.push('throw');
    await expect(informers.start()).rejects.toThrow('credentials could not be loaded');
  });
});

describe('relistReporter', () => {
  it('logs one info line naming the resource and scope, and counts it in sealbox_watch_relists_total by resource', async () => {
    const { log, lines } = capturingLogger();
    const metrics = new Metrics();
    const report = relistReporter(log, metrics.relists);
    report('sealedsecrets', undefined);
    report('secrets', 'team-a');
    report('secrets', 'team-a');
    expect(lines.map(({ level, msg, resource, namespace }) => ({ level, msg, resource, namespace }))).toEqual([
      { level: 30, msg: 'resourceVersion expired (HTTP 410); listing again', resource: 'sealedsecrets', namespace: 'all namespaces' },
      { level: 30, msg: 'resourceVersion expired (HTTP 410); listing again', resource: 'secrets', namespace: 'team-a' },
      { level: 30, msg: 'resourceVersion expired (HTTP 410); listing again', resource: 'secrets', namespace: 'team-a' },
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('sealbox_watch_relists_total{resource="sealedsecrets"} 1');
    expect(text).toContain('sealbox_watch_relists_total{resource="secrets"} 2');
  });
});
