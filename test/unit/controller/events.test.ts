import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventSink } from '../../../src/controller/events.js';
import { DEDUPE_ENTRY_BYTES, EventRecorder, RecentEvents } from '../../../src/controller/events.js';
import type { SealedSecretObject } from '../../../src/kube/types.js';
import type { Logger } from '../../../src/controller/log.js';

describe('RecentEvents', () => {
  it('remembers an event for its ttl, then lets it through again', () => {
    const r = new RecentEvents(64 * 1024, 1000);
    expect(r.seen(['uid', 1, 'Warning', 'ScopeMismatch', 'moved'], 0)).toBe(false);
    expect(r.seen(['uid', 1, 'Warning', 'ScopeMismatch', 'moved'], 999)).toBe(true);
    expect(r.seen(['uid', 2, 'Warning', 'ScopeMismatch', 'moved'], 999)).toBe(false);
    expect(r.seen(['uid', 1, 'Warning', 'ScopeMismatch', 'moved'], 1000)).toBe(false);
  });

  it('tells apart parts that concatenate to the same text', () => {
    const r = new RecentEvents(64 * 1024, 1000);
    expect(r.seen(['ab', 'c'], 0)).toBe(false);
    expect(r.seen(['a', 'bc'], 0)).toBe(false);
  });

  it('stays within its byte budget whatever the messages: 20,000 generations of a 1 KiB message', () => {
    const budget = 256 * 1024;
    const r = new RecentEvents(budget, 600_000);
    const huge = 'x'.repeat(1024);
    for (let gen = 0; gen < 20_000; gen++) {
      expect(r.seen(['uid', gen, 'Warning', 'ScopeMismatch', huge], gen)).toBe(false);
      expect(r.bytes).toBeLessThanOrEqual(budget);
    }
    expect(r.bytes).toBeGreaterThan(budget - DEDUPE_ENTRY_BYTES);
    // the newest are kept, the oldest were dropped
    expect(r.seen(['uid', 19_999, 'Warning', 'ScopeMismatch', huge], 20_000)).toBe(true);
    expect(r.seen(['uid', 0, 'Warning', 'ScopeMismatch', huge], 20_000)).toBe(false);
  });
});

type Event = Parameters<EventSink['createEvent']>[0];

/** An EventSink that keeps what it is sent, or refuses with `failure`. */
function sink(failure?: Error): EventSink & { readonly sent: Event[] } {
  const sent: Event[] = [];
  return { sent, createEvent: (e) => { sent.push(e); return failure === undefined ? Promise.resolve() : Promise.reject(failure); } };
}

function logger(): { log: Logger; lines: () => string } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { out.push(chunk.toString('utf8')); done(); } });
  return { log: pino({ level: 'info' }, stream), lines: () => out.join('') };
}

const SECRET = 'plaintext-s3cr3t-value';

/** A sealed resource as the informer holds it, with secret-looking text everywhere but its identity. */
function sealedObject(uid = 'uid-1', generation = 1): SealedSecretObject {
  return {
    apiVersion: 'sealbox.dev/v1',
    kind: 'SealedSecret',
    metadata: { name: 'db', namespace: 'prod', uid, generation, resourceVersion: '42', annotations: { note: SECRET }, labels: { 'app.kubernetes.io/part-of': SECRET } },
    spec: { encryptedData: { password: `sb1:0123456789abcdef:${Buffer.from(SECRET).toString('base64')}` }, template: { data: { hint: SECRET } } },
    status: { conditions: [{ type: 'Ready', message: SECRET }] },
  };
}

describe('EventRecorder', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('records an Event on the sealed resource with its identity, reason and message only', async () => {
    const api = sink();
    const r = new EventRecorder(api, logger().log, 'pod-7');
    await r.warning(sealedObject(), 'ScopeMismatch', 'value "password" is bound to namespace "staging"');
    await r.normal(sealedObject(), 'Created', 'created secret db');
    expect(api.sent).toHaveLength(2);
    const [warning, normal] = api.sent;
    expect(warning).toMatchObject({
      metadata: { namespace: 'prod' },
      involvedObject: { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', namespace: 'prod', uid: 'uid-1', resourceVersion: '42' },
      reason: 'ScopeMismatch', message: 'value "password" is bound to namespace "staging"', type: 'Warning',
      source: { component: 'sealbox-controller' }, reportingComponent: 'sealbox.dev/controller', reportingInstance: 'pod-7', count: 1,
    });
    expect(warning?.metadata.name).toMatch(/^db\.[0-9a-f]{9,}$/);
    expect(normal).toMatchObject({ type: 'Normal', reason: 'Created', message: 'created secret db' });
    expect(normal?.metadata.name).not.toBe(warning?.metadata.name);
  });

  it('records Warning Events but no Normal ones when told to record warnings only', async () => {
    const api = sink();
    const r = new EventRecorder(api, logger().log, 'pod-7', { types: 'warnings' });
    await r.normal(sealedObject(), 'Created', 'created secret db');
    await r.warning(sealedObject(), 'NoKey', 'no key opens it');
    await r.normal(sealedObject('uid-1', 2), 'Updated', 'updated secret db to match the sealed resource');
    expect(api.sent.map((e) => [e.type, e.reason])).toEqual([['Warning', 'NoKey']]);
  });

  it('copies nothing of the resource but its identity: no spec, status, annotation or label text', async () => {
    const api = sink();
    await new EventRecorder(api, logger().log, 'pod-7').warning(sealedObject(), 'Tampered', 'value "password" does not open');
    const text = JSON.stringify(api.sent);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
  });

  it('records the same event for the same generation once, and again for a new generation, object, type, reason or message', async () => {
    const api = sink();
    const r = new EventRecorder(api, logger().log, 'pod-7');
    for (let i = 0; i < 5; i++) await r.warning(sealedObject(), 'NoKey', 'no key opens it');
    expect(api.sent).toHaveLength(1);
    await r.warning(sealedObject('uid-1', 2), 'NoKey', 'no key opens it');
    await r.warning(sealedObject('uid-2'), 'NoKey', 'no key opens it');
    await r.normal(sealedObject(), 'NoKey', 'no key opens it');
    await r.warning(sealedObject(), 'Tampered', 'no key opens it');
    await r.warning(sealedObject(), 'NoKey', 'no key opens it, still');
    expect(api.sent.map((e) => [e.involvedObject.uid, e.type, e.reason, e.message])).toEqual([
      ['uid-1', 'Warning', 'NoKey', 'no key opens it'],
      ['uid-1', 'Warning', 'NoKey', 'no key opens it'],
      ['uid-2', 'Warning', 'NoKey', 'no key opens it'],
      ['uid-1', 'Normal', 'NoKey', 'no key opens it'],
      ['uid-1', 'Warning', 'Tampered', 'no key opens it'],
      ['uid-1', 'Warning', 'NoKey', 'no key opens it, still'],
    ]);
  });

  it('repeats an event once ten minutes have passed, not before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const api = sink();
    const r = new EventRecorder(api, logger().log, 'pod-7');
    await r.warning(sealedObject(), 'NoKey', 'no key opens it');
    vi.setSystemTime(Date.now() + 10 * 60_000 - 1);
    await r.warning(sealedObject(), 'NoKey', 'no key opens it');
    expect(api.sent).toHaveLength(1);
    vi.setSystemTime(Date.now() + 1);
    await r.warning(sealedObject(), 'NoKey', 'no key opens it');
    expect(api.sent).toHaveLength(2);
  });

  it('cuts messages to 1024 characters, and two that differ only past the cut count as one', async () => {
    const api = sink();
    const r = new EventRecorder(api, logger().log, 'pod-7');
    const long = 'x'.repeat(1024);
    await r.warning(sealedObject(), 'Invalid', `${long}first tail`);
    await r.warning(sealedObject(), 'Invalid', `${long}second tail`);
    await r.warning(sealedObject(), 'Invalid', long);
    expect(api.sent.map((e) => e.message)).toEqual([`${long}…`, long]);
  });

  it('keeps its de-duplication memory within the budget it is given, and reports it', async () => {
    const budget = 16 * 1024;
    const reported: number[] = [];
    const api = sink();
    const r = new EventRecorder(api, logger().log, 'pod-7', { dedupeBytes: budget, onDedupeBytes: (b) => reported.push(b) });
    for (let gen = 1; gen <= 1000; gen++) await r.warning(sealedObject('uid-1', gen), 'Invalid', 'y'.repeat(2000));
    expect(api.sent).toHaveLength(1000);
    expect(reported).toHaveLength(1000);
    expect(Math.max(...reported)).toBeLessThanOrEqual(budget);
    expect(reported.at(-1)).toBeGreaterThan(budget - DEDUPE_ENTRY_BYTES);
  });

  it('logs a failure to record without throwing, naming the resource and not its contents', async () => {
    const api = sink(new Error('events is forbidden: User "system:serviceaccount:x:y" cannot create resource "events"'));
    const l = logger();
    await expect(new EventRecorder(api, l.log, 'pod-7').warning(sealedObject(), 'NoKey', 'no key opens it')).resolves.toBeUndefined();
    const line = JSON.parse(l.lines()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'could not record event', namespace: 'prod', name: 'db', reason: 'NoKey' });
    expect(line.err).toContain('events is forbidden');
    expect(l.lines()).not.toContain(SECRET);
  });
});
