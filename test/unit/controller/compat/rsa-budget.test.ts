import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OverBudget, UnsealBudget } from '../../../../src/controller/compat/budget.js';
import type { EventSink } from '../../../../src/controller/events.js';
import { WorkQueue, retryDelay } from '../../../../src/controller/queue.js';
import { bitnamiLabel, sealBitnamiValue } from '../../../../src/crypto/bitnami.js';
import { DataKeyCache } from '../../../../src/crypto/key-cache.js';
import { isSealboxError } from '../../../../src/errors.js';
import type { SealedSecretObject } from '../../../../src/kube/types.js';
import { vectorKey } from '../../../helpers/keys.js';
import { compatWorld } from './compat-world.js';

// docs/SECURITY.md 1a.8: Sealed Secrets' values each wrap a session key of
// their own and name no key, so a SealedSecret of N values that open costs
// N RSA private operations. The compat mode's budget bounds what one
// namespace's SealedSecrets spend a minute (budget.ts); the tests use a
// budget of 20 and a clock moved by hand.
const BUDGET = 20;
const PLAIN = 'plaintext-value-';

type Event = Parameters<EventSink['createEvent']>[0];

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

/** A bitnami SealedSecret `namespace/name` of `count` values, sealed by kubeseal's rules for test key b. */
function bitnamiSealed(namespace: string, name: string, count: number): SealedSecretObject {
  const cert = createPublicKey(vectorKey('b').certPem);
  const label = bitnamiLabel('strict', namespace, name);
  const encryptedData = Object.fromEntries(Array.from({ length: count }, (_, i) => [`v${String(i)}`, Buffer.from(sealBitnamiValue(cert, new Uint8Array(Buffer.from(`${PLAIN}${String(i)}`)), label)).toString('base64')]));
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace, uid: `uid-${namespace}-${name}`, generation: 1, resourceVersion: '5' }, spec: { encryptedData, template: {} } };
}

/** A compat reconciler over an in-memory API, trying keys a then b, with a budget of BUDGET on `now`. */
function world(objects: readonly SealedSecretObject[], now: () => number, budget = new UnsealBudget(BUDGET, now)) {
  const events: Event[] = [];
  const sink: EventSink = { createEvent: (e) => { events.push(e); return Promise.resolve(); } };
  const w = compatWorld({ cache: new DataKeyCache(1000), budget, sink });
  for (const o of objects) w.api.sealed.set(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o);
  return { ...w, events };
}

/** What a reconcile ended with: 'done', or the error. */
function outcome(p: Promise<void>): Promise<unknown> {
  return p.then(() => 'done', (err: unknown) => err);
}

describe('compat mode: the RSA budget of a namespace', () => {
  it('defers a namespace over its budget, and unseals another namespace meanwhile', async () => {
    const c = clock();
    const w = world([bitnamiSealed('tenant', 'big', 30), bitnamiSealed('quiet', 'small', 3)], c.now);

    const first = await outcome(w.reconciler.reconcile('tenant/big'));

    expect(w.ops()).toBeLessThanOrEqual(BUDGET);
    expect(first).toBeInstanceOf(OverBudget);
    expect(isSealboxError(first, 'REFUSED')).toBe(true);
    expect((first as OverBudget).retryAfterMs).toBe(60_000);
    expect(w.api.peek('tenant', 'big')).toBeUndefined();
    const status = JSON.stringify(w.api.statuses.at(-1));
    expect(status).toContain('"status":"False"');
    expect(status).toContain('namespace \\"tenant\\" is over its unseal budget of 20 RSA operations a minute');
    expect(w.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'UnsealDeferred']]);
    expect(JSON.stringify([w.events, w.api.statuses])).not.toContain(PLAIN);

    // Still over: deferred again before any API request and any RSA operation.
    const calls = w.api.calls.length;
    const spent = w.ops();
    expect(await outcome(w.reconciler.reconcile('tenant/big'))).toBeInstanceOf(OverBudget);
    expect(w.api.calls.length).toBe(calls);
    expect(w.ops()).toBe(spent);

    expect(await outcome(w.reconciler.reconcile('quiet/small'))).toBe('done');
    expect(Object.keys(w.api.peek('quiet', 'small')?.data ?? {})).toHaveLength(3);

    c.advance(60_000);
    expect(await outcome(w.reconciler.reconcile('tenant/big'))).toBe('done');
    expect(Buffer.from(w.api.peek('tenant', 'big')?.data?.v29 ?? '', 'base64').toString()).toBe(`${PLAIN}29`);
    // Resumed where it stopped: the session keys unwrapped before were cached.
    expect(w.ops()).toBe(30 + 1 + 3 + 1);
    expect(JSON.stringify(w.api.statuses.at(-1))).toContain('"status":"True"');
  });

  it('never slows a namespace within its budget, and a resync of what it unsealed costs none', async () => {
    const c = clock();
    const objects = ['a', 'b', 'c'].map((n) => bitnamiSealed('team', n, 5));
    const w = world(objects, c.now);

    for (const n of ['a', 'b', 'c']) expect(await outcome(w.reconciler.reconcile(`team/${n}`))).toBe('done');
    expect(w.ops()).toBe(3 * (5 + 1)); // each object tries key a first, once
    for (const n of ['a', 'b', 'c']) expect(await outcome(w.reconciler.reconcile(`team/${n}`))).toBe('done');
    expect(w.ops()).toBe(18);
    expect(w.events.filter((e) => e.type === 'Warning')).toEqual([]);
  });

  it('has no limit at 0', async () => {
    const c = clock();
    const w = world([bitnamiSealed('tenant', 'big', 30)], c.now, new UnsealBudget(0, c.now));

    expect(await outcome(w.reconciler.reconcile('tenant/big'))).toBe('done');
    expect(w.ops()).toBe(31);
  });
});

describe('UnsealBudget', () => {
  it('asks for a retry once the namespace has refilled, at least a second away', () => {
    const c = clock();
    const budget = new UnsealBudget(60, c.now); // one a second
    const charge = budget.charger('ns');
    for (let i = 0; i < 60; i++) charge();
    let err: unknown;
    try {
      charge();
    } catch (e) {
      err = e;
    }
    expect((err as OverBudget).retryAfterMs).toBe(60_000);
    // closed until the bucket is full again, not until one token is back (attack20)
    c.advance(59_500);
    expect(() => { budget.check('ns'); }).toThrow(OverBudget);
    c.advance(500);
    expect(() => { budget.check('ns'); }).not.toThrow();
    for (let i = 0; i < 60; i++) charge();
    expect(() => { budget.check('ns'); }).toThrow(OverBudget);
    expect(() => { budget.charger('other')(); }).not.toThrow();
  });

  it('forgets namespaces whose bucket has refilled', () => {
    const c = clock();
    const budget = new UnsealBudget(60, c.now);
    for (let i = 0; i < 100; i++) budget.charger(`ns${String(i)}`)();
    expect(budget.size).toBe(100);
    c.advance(61_000);
    budget.charger('last')();
    expect(budget.size).toBe(1);
  });

  it('makes the work queue wait out the refill, not its one-second backoff', async () => {
    const delays: number[] = [];
    const q = new WorkQueue(() => Promise.reject(new OverBudget('ns', 60, 40_000)), {
      workers: 2, baseDelayMs: 1000, maxDelayMs: 300_000, onRetry: (_k, _e, _a, delay) => { delays.push(delay); },
    });
    q.add('ns/x');
    await q.idle();
    q.stop();
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(32_000);
    expect(delays[0]).toBeLessThanOrEqual(48_000);
  });
});

// attack20: a namespace was closed only while less than ONE token was left,
// and each deferred SealedSecret came back on its own after ~retryAfterMs
// (jittered 0.8-1.2 by the work queue): spread over the minute, each landed
// once a token or two had refilled, GET its whole object (up to 1.4 MB),
// spent them and recorded UnsealDeferred again: about one whole read per
// token (145 reads for 301 tokens). Now it is closed until its bucket is full.

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

describe('compat mode: the reads of a namespace over its RSA budget (attack20)', () => {
  it('re-reads its whole SealedSecrets far less often than once per token', async () => {
    const PER_MINUTE = 60; // one token a second
    const names = Array.from({ length: 60 }, (_, i) => `s${String(i)}`);
    const c = clock();
    const w = world(names.map((n) => bitnamiSealed('tenant', n, 12)), c.now, new UnsealBudget(PER_MINUTE, c.now));
    const rand = seeded(42);
    // the work queue on the hand-moved clock: every object queued at once (a cold start)
    const start = c.now();
    const due = new Map(names.map((n) => [`tenant/${n}`, start]));
    const attempts = new Map<string, number>();
    let reads = 0;
    let opsAtMinute = -1;
    while (due.size > 0 && c.now() < start + 6 * 60_000) {
      const [key, at] = [...due].reduce((x, y) => (y[1] < x[1] ? y : x));
      c.advance(Math.max(0, at - c.now()));
      const afterMinute = c.now() >= start + 60_000;
      if (afterMinute && opsAtMinute < 0) opsAtMinute = w.ops();
      due.delete(key);
      const before = w.api.calls.length;
      const err = await outcome(w.reconciler.reconcile(key));
      if (afterMinute) reads += w.api.calls.slice(before).filter((call) => call.startsWith('getSealed')).length;
      if (err instanceof OverBudget) {
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        due.set(key, c.now() + retryDelay(err, attempt, { baseDelayMs: 1000, maxDelayMs: 300_000 }, rand));
      } else {
        expect(err).toBe('done');
      }
    }
    const tokens = w.ops() - opsAtMinute;
    // the budget holds (about one RSA operation a second)...
    expect(tokens).toBeLessThanOrEqual(Math.ceil(((c.now() - start - 60_000) / 60_000 + 1) * PER_MINUTE));
    // ...and each whole read buys a real share of it: a SealedSecret needs 12
    // operations, so about one read per 12 tokens (plus the few that start together after a refill)
    expect(reads).toBeLessThanOrEqual(tokens / 4);
  });
});
