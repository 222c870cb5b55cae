// Issue 11, item 6a: a user with only the sealedsecrets verbs tried to crash
// the controller with huge strings. The CRD refuses what is over its bounds
// at the API server; with strings at the bounds, every patch that bumps the
// generation costs the controller a bounded amount of log, event memory and
// heap, and it stays up.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiErrorCode, eventually, kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { SEALED, createSealed, fetchCert, getSealed, seal, waitForReady } from '../controller/sealed.js';

const env = useController({ prefix: 'sec-bounds' });
const PATCHES = 60;

const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);

/** The HTTP status the API server answers to creating `body` (201 when stored). */
async function createStatus(namespace: string, body: SealedObject): Promise<number> {
  try {
    await custom().createNamespacedCustomObject({ ...SEALED, namespace, body: { ...body, metadata: { ...body.metadata, namespace } } });
    return 201;
  } catch (err) {
    return apiErrorCode(err) ?? 0;
  }
}

describe('the CRD bounds every string (issue 11, item 6a)', () => {
  it.each<[string, (o: SealedObject) => void]>([
    ['a 1.2 MB binding', (o) => { if (o.spec.dataKeys[0]) o.spec.dataKeys[0].binding = 'x'.repeat(1_200_000); }],
    ['a binding one character over any valid one', (o) => { if (o.spec.dataKeys[0]) o.spec.dataKeys[0].binding = 'x'.repeat(325); }],
    ['a 64-character template label value', (o) => { o.spec.template = { type: 'Opaque', metadata: { labels: { a: 'v'.repeat(64) } } }; }],
    ['a 318-character template annotation key', (o) => { o.spec.template = { type: 'Opaque', metadata: { annotations: { ['k'.repeat(318)]: 'v' } } }; }],
    ['257 template annotations', (o) => { o.spec.template = { type: 'Opaque', metadata: { annotations: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`a${i}`, 'v'])) } }; }],
    ['a 254-character template type', (o) => { o.spec.template = { type: 't'.repeat(254) }; }],
  ])('is refused at the API server: %s', async (_name, spoil) => {
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const o = await seal(await fetchCert(ctl.url), { name: `over-${randomBytes(3).toString('hex')}`, namespace: env.namespace, data: { v: 'x' } });
    spoil(o);
    expect(await createStatus(env.namespace, o)).toBe(422);
  });
});

describe('a SealedSecret patched in a loop with big-but-allowed strings (issue 11, item 6a)', () => {
  it(`costs bounded log, event memory and heap over ${PATCHES} generations, and the controller stays up`, async () => {
    const ns = env.namespace;
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const cert = await fetchCert(ctl.url);
    const o = await seal(cert, { name: 'patched', namespace: ns, data: { v: 'x' } });
    // the longest binding the CRD allows, with no "/": the failure quotes it
    for (const g of o.spec.dataKeys) g.binding = 'b'.repeat(324);
    await createSealed(ns, o);
    await waitForReady(ns, 'patched', 'False');
    const before = await scrape(ctl.url);
    // the log lines about this resource (by name, or by its queue key)
    const logBytes = (): number => ctl.log().split('\n').filter((l) => l.includes('"name":"patched"') || l.includes(`"${ns}/patched"`)).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const logBefore = logBytes();

    for (let i = 0; i < PATCHES; i++) {
      const big = `${'a'.repeat(200_000)}-${i}`;
      const body = { spec: { template: { type: 'Opaque', metadata: { annotations: { big, [`k${'k'.repeat(300)}`]: `${big.slice(0, 1000)}${i}` } } } } };
      await custom().patchNamespacedCustomObject({ ...SEALED, namespace: ns, name: 'patched', body }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    }
    const last = await eventually('the controller to see the last generation', async () => {
      const s = await getSealed(ns, 'patched');
      return s.status?.observedGeneration === s.metadata.generation ? s : undefined;
    }, 60_000, 250);
    expect(last.status?.conditions?.[0]?.reason).toBe('ScopeMismatch');
    const message = last.status?.conditions?.[0]?.message ?? '';
    expect(message.length).toBeLessThan(600);
    expect(message).not.toContain('b'.repeat(100));

    const after = await scrape(ctl.url);
    const logGrowth = logBytes() - logBefore;
    expect(ctl.alive()).toBe(true);
    // five lines a minute per resource, each bounded: far below one line per patch
    expect(logGrowth, 'log bytes written during the patches').toBeLessThan(PATCHES * 300);
    expect(metricValue(after, 'sealbox_event_dedupe_bytes'), 'event de-duplication memory').toBeGreaterThan(0);
    expect(metricValue(after, 'sealbox_event_dedupe_bytes')).toBeLessThanOrEqual(1024 * 1024);
    const heap = (m: string): number => metricValue(m, 'sealbox_nodejs_heap_size_used_bytes');
    expect(heap(after) - heap(before), 'heap growth').toBeLessThan(48 * 1024 * 1024);
  });
});
