// A resync of 1,000 sealed resources whose Secrets are already in line makes
// no request to the API server, no RSA private-key operation and no unseal:
// each resource's sync record matches the informer caches' summaries.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { SEALED, fetchCert, listSealed, readyCondition, seal } from '../controller/sealed.js';

const COUNT = 1000;
const VALUES = 5;
const RESYNC_MS = 5000;
const env = useController({
  prefix: 'ctl-resync',
  resyncPeriod: `${RESYNC_MS / 1000}s`,
  // the first sync writes 3,000 times (Secret, status, event per resource):
  // a higher client rate limit keeps the test short; it changes no behaviour
  extraArgs: ['--kube-api-qps', '300', '--kube-api-burst', '600'],
});

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  }));
}

/** API writes the controller sent, leader-election renewals of its Lease excepted. */
function writes(metrics: string): number {
  return metricValue(metrics, 'sealbox_api_requests_total', (l) => ['create', 'update', 'patch', 'delete'].includes(l.verb ?? '') && l.resource !== 'leases');
}

interface Summary { writes: number; gets: number; rsa: number; unseals: number; unchanged: number }

function summary(metrics: string): Summary {
  return {
    writes: writes(metrics),
    gets: metricValue(metrics, 'sealbox_api_requests_total', (l) => l.verb === 'get' && (l.resource === 'secrets' || l.resource === 'sealedsecrets')),
    rsa: metricValue(metrics, 'sealbox_rsa_private_operations_total'),
    unseals: metricValue(metrics, 'sealbox_unseal_duration_seconds_count'),
    unchanged: metricValue(metrics, 'sealbox_reconciles_total', (l) => l.result === 'unchanged'),
  };
}

describe('resync', () => {
  it(`makes no API request, no RSA operation and no unseal when ${COUNT} sealed resources are already in sync`, async () => {
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const ns = env.namespace;
    const cert = await fetchCert(ctl.url);
    const manifests: SealedObject[] = [];
    for (let i = 0; i < COUNT; i++) {
      const data = Object.fromEntries(Array.from({ length: VALUES }, (_, j) => [`key-${j}`, `value-${i}-${j}`]));
      manifests.push(await seal(cert, { name: `r${String(i).padStart(4, '0')}`, namespace: ns, data }));
    }
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    await pool(manifests, 16, async (m) => { await custom.createNamespacedCustomObject({ ...SEALED, namespace: ns, body: m }); });

    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    await eventually(`${COUNT} Secrets and ${COUNT} Ready sealed resources`, async () => {
      const secrets = await core.listNamespacedSecret({ namespace: ns, labelSelector: 'sealbox.dev/managed-by=sealbox' });
      if (secrets.items.length < COUNT) return undefined;
      const ready = (await listSealed(ns)).filter((o) => readyCondition(o)?.status === 'True');
      return ready.length === COUNT ? true : undefined;
    }, 180_000, 2000);
    // all work done: the trailing status-update events have been handled
    const settled = await eventually('the controller to stop writing', async () => {
      const a = await scrape(ctl.url);
      await new Promise((r) => setTimeout(r, 1500));
      const b = await scrape(ctl.url);
      return writes(a) === writes(b) ? b : undefined;
    }, 60_000, 0);
    const before = summary(settled);
    expect(before.rsa).toBeGreaterThanOrEqual(COUNT); // each resource was unsealed once, with RSA

    // two resync passes' worth of reconciles contain at least one full pass
    const after = summary(await eventually('a full resync of every sealed resource', async () => {
      const m = await scrape(ctl.url);
      return summary(m).unchanged - before.unchanged >= 2 * COUNT ? m : undefined;
    }, 6 * RESYNC_MS, 500));
    expect(after.unchanged - before.unchanged).toBeGreaterThanOrEqual(2 * COUNT);
    expect({ writes: after.writes, gets: after.gets, rsa: after.rsa, unseals: after.unseals }).toEqual({ writes: before.writes, gets: before.gets, rsa: before.rsa, unseals: before.unseals });
  }, 300_000);

  // orphaned: their Secrets stay, so no Secret deletion enqueues them (garbage collection's does)
  it('forgets the sync records of deleted sealed resources whose Secrets were orphaned (the records stayed for good: attack17)', async () => {
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const records = async (): Promise<number> => metricValue(await scrape(ctl.url), 'sealbox_sync_records');
    const before = await records();
    expect(before).toBeGreaterThanOrEqual(COUNT);
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const names = Array.from({ length: 50 }, (_, i) => `r${String(i).padStart(4, '0')}`);
    await pool(names, 8, async (name) => { await custom.deleteNamespacedCustomObject({ ...SEALED, namespace: env.namespace, name, propagationPolicy: 'Orphan' }); });
    await eventually('the 50 sync records forgotten', async () => ((await records()) <= before - 50 ? true : undefined), 60_000, 500);
  }, 90_000);
});
