// Issue 11, item 6b: an `edit` tenant labels 120 Secrets of about 1 MB each
// with sealbox.dev/managed-by=sealbox (a label anyone may set), half of them
// also claiming a SealedSecret as their controller. The controller, with
// deploy/'s heap flags, used to keep their values in its cache and ran out of
// heap 10 s after every restart. Now it keeps no values: it stays up through
// the attack and a restart, and syncs ordinary sealed resources meanwhile.
// On a private control plane, so that 120 MB of Secrets leave no trace.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosControllerEnv } from '../chaos/controller-env.js';
import { setUpControllerEnv } from '../chaos/controller-env.js';
import type { PrivateCluster } from '../chaos/private-cluster.js';
import { startPrivateCluster } from '../chaos/private-cluster.js';
import { deployEnv, editTenant, peakRssMb, pool } from '../chaos/tenant.js';
import { eventually } from '../cluster/helpers.js';
import { metricValue, scrape } from '../controller/metrics.js';
import { SEALED, fetchCert, seal } from '../controller/sealed.js';

const BIG = Number(process.env.SEALBOX_CHAOS_BIG_SECRETS ?? '120');
/** The resident set this test allows: deploy/'s memory limit when it was written (320 MiB now, sized for 100,000 sealed resources). */
const POD_LIMIT_MB = 256;

let pc: PrivateCluster;
let env: ChaosControllerEnv;
let ns = '';

beforeAll(async () => {
  pc = await startPrivateCluster('tenant-secrets');
  env = await setUpControllerEnv(pc.kc, { prefix: 'tenant', env: deployEnv() });
  ns = env.namespaces[0] ?? '';
}, 300_000);

afterAll(async () => {
  await env.tearDown();
  await pc.stop();
}, 120_000);

/** Seals and creates `name` as the admin; resolves once its Secret exists (the sync latency). */
async function syncOne(name: string, timeoutMs: number): Promise<number> {
  const ctl = await env.leader(timeoutMs);
  const manifest = await seal(await fetchCert(ctl.url), { name, namespace: ns, data: { v: `value-of-${name}` } });
  const started = Date.now();
  await pc.kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...SEALED, namespace: ns, body: manifest });
  const core = pc.kc.makeApiClient(k8s.CoreV1Api);
  await eventually(`Secret ${ns}/${name}`, async () => core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined), timeoutMs, 100);
  return Date.now() - started;
}

describe(`${BIG} labelled Secrets of about 1 MB from an edit tenant`, () => {
  it('leave the controller up, within deploy/ memory, through a restart, and syncing other resources', async () => {
    const tenant = (await editTenant(pc.kc, ns)).makeApiClient(k8s.CoreV1Api);
    const fakeOwner = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'x', uid: '00000000-0000-0000-0000-000000000000', controller: true };
    const names = Array.from({ length: BIG }, (_, i) => `bait-${i}`);
    await pool(names, 4, async (name, i) => {
      await tenant.createNamespacedSecret({ namespace: ns, body: {
        metadata: { name, labels: { 'sealbox.dev/managed-by': 'sealbox' }, ...(i % 2 === 0 ? { ownerReferences: [{ ...fakeOwner, name }] } : {}) },
        data: { blob: randomBytes(760_000).toString('base64') },
      } });
    });
    const first = env.controllers[0];
    if (first === undefined) throw new Error('no controller');
    expect(await syncOne('normal-0', 60_000)).toBeLessThan(60_000);
    expect(first.alive(), 'the controller survived the Secrets arriving').toBe(true);

    // a restart lists them all again: this is where it used to die
    await first.kill('SIGKILL');
    const second = await env.start('controller-1');
    await syncOne('normal-1', 90_000);
    await new Promise((r) => setTimeout(r, 15_000));
    expect(second.alive(), 'the controller survived its restart').toBe(true);
    await syncOne('normal-2', 30_000);
    const heap = metricValue(await scrape(second.url), 'sealbox_nodejs_heap_size_used_bytes') / 2 ** 20;
    const rss = peakRssMb(second.pid);
    process.stderr.write(`chaos tenant-secrets: ${BIG} Secrets of ~1 MB; after restart heap ${heap.toFixed(0)} MiB, peak RSS ${rss.toFixed(0)} MiB\n`);
    expect(rss, 'peak RSS (MiB)').toBeLessThan(POD_LIMIT_MB);
    expect(heap, 'heap in use (MiB)').toBeLessThan(96);
  });
});
