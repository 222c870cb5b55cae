import { createPublicKey } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { OverBudget, UnsealBudget } from '../../../../src/controller/compat/budget.js';
import { WorkingKeys } from '../../../../src/controller/compat/opener.js';
import { CompatReconciler } from '../../../../src/controller/compat/reconciler.js';
import type { EventSink } from '../../../../src/controller/events.js';
import { EventRecorder } from '../../../../src/controller/events.js';
import { Metrics } from '../../../../src/controller/metrics.js';
import { bitnamiLabel, sealBitnamiValue } from '../../../../src/crypto/bitnami.js';
import { DataKeyCache } from '../../../../src/crypto/key-cache.js';
import type { SealedSecretObject } from '../../../../src/kube/types.js';
import { vectorIdentity, vectorKey } from '../../../helpers/keys.js';
import { MemorySecrets } from '../memory-secrets.js';

// attack20 (34ab9c0): a namespace over its RSA budget is deferred "before
// any API request" only while its bucket holds less than ONE token, and each
// deferred SealedSecret is retried on its own after ~retryAfterMs (jittered
// 0.8-1.2 by the work queue). With many deferred SealedSecrets the retries
// are spread over the minute, so each lands once the bucket has refilled a
// token or two: it GETs its whole object (up to 1.4 MB), spends that token,
// runs out again and records UnsealDeferred. The namespace re-reads whole
// objects about once per token: the budget bounds RSA time, not the reads
// (and parses, and events) that a deferral was meant to spare.
const PER_MINUTE = 60; // one token a second
const OBJECTS = 60;
const VALUES = 12;

class CompatSecrets extends MemorySecrets {
  patchBitnamiStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    return this.patchSealedStatus(namespace, name, status);
  }
}

function bitnamiSealed(namespace: string, name: string, count: number): SealedSecretObject {
  const cert = createPublicKey(vectorKey('b').certPem);
  const label = bitnamiLabel('strict', namespace, name);
  const encryptedData = Object.fromEntries(Array.from({ length: count }, (_, i) => [`v${String(i)}`, Buffer.from(sealBitnamiValue(cert, new Uint8Array(Buffer.from(`value-${String(i)}`)), label)).toString('base64')]));
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace, uid: `uid-${name}`, generation: 1, resourceVersion: '5' }, spec: { encryptedData, template: {} } };
}

/** queue.ts #delay for an OverBudget (retryBaseMs = retryAfterMs), with a seeded jitter instead of Math.random. */
function retryDelay(err: OverBudget, attempt: number, maxDelayMs: number, rand: () => number): number {
  let exp = Math.min(maxDelayMs, err.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  exp = Math.min(exp, err.retryAfterMs);
  return Math.round(exp * (0.8 + rand() * 0.4));
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

describe('attack20: reads of a namespace over its RSA budget', () => {
  it('re-reads its whole SealedSecrets far less often than once per token', async () => {
    let t = 1_000_000;
    const now = (): number => t;
    const api = new CompatSecrets();
    for (let i = 0; i < OBJECTS; i++) api.sealed.set(`tenant/s${String(i)}`, bitnamiSealed('tenant', `s${String(i)}`, VALUES));
    let events = 0;
    const sink: EventSink = { createEvent: () => { events++; return Promise.resolve(); } };
    const log = pino({ level: 'silent' }, new Writable({ write(_c, _e, done) { done(); } }));
    const a = vectorIdentity('a');
    const b = vectorIdentity('b');
    const keys = [{ fingerprint: a.fingerprint, identity: a }, { fingerprint: b.fingerprint, identity: b }];
    const reconciler = new CompatReconciler({
      api, log, metrics: new Metrics(), events: new EventRecorder(sink, log, 'test'), keys: () => keys,
      cache: new DataKeyCache(100_000), working: new WorkingKeys(), getSealed: (ns, name) => api.getSealed(ns, name),
      budget: new UnsealBudget(PER_MINUTE, now),
    });
    const rand = seeded(42);

    // The work queue, on a clock moved by hand: every object queued at once (a cold start).
    const due = new Map<string, number>();
    const attempts = new Map<string, number>();
    for (let i = 0; i < OBJECTS; i++) due.set(`tenant/s${String(i)}`, t);
    const start = t;
    let readsAfterFirstMinute = 0;
    let opsAtFirstMinute = -1;
    while (due.size > 0 && t < start + 6 * 60_000) {
      const [key, at] = [...due].reduce((x, y) => (y[1] < x[1] ? y : x));
      t = Math.max(t, at);
      if (opsAtFirstMinute < 0 && t >= start + 60_000) opsAtFirstMinute = a.privateOps + b.privateOps;
      due.delete(key);
      const reads = api.calls.length;
      const err = await reconciler.reconcile(key).then(() => undefined, (e: unknown) => e);
      if (t >= start + 60_000) readsAfterFirstMinute += api.calls.slice(reads).filter((c) => c.startsWith('getSealed')).length;
      if (err instanceof OverBudget) {
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        due.set(key, t + retryDelay(err, attempt, 300_000, rand));
      } else {
        expect(err).toBeUndefined();
        attempts.delete(key);
      }
    }
    const tokensAfterFirstMinute = a.privateOps + b.privateOps - opsAtFirstMinute;
    console.log({ readsAfterFirstMinute, tokensAfterFirstMinute, events, simulatedMinutes: (t - start) / 60_000 });

    // The budget holds (about one RSA operation a second)...
    expect(tokensAfterFirstMinute).toBeLessThanOrEqual(Math.ceil(((t - start - 60_000) / 60_000 + 1) * PER_MINUTE));
    // ...but each whole-object read should buy a real share of it: a SealedSecret
    // needs VALUES operations, so about one read per VALUES tokens (plus the
    // few that start together after a refill) is what deferring can cost.
    expect(readsAfterFirstMinute).toBeLessThanOrEqual(tokensAfterFirstMinute / 4);
  });
});
