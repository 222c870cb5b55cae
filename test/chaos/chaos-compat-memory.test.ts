// docs/SECURITY.md 1a.8: in compatibility mode (--sealed-secrets-compat) the
// informer of Sealed Secrets' SealedSecrets kept each one whole, ciphertext
// included. A tenant with Git write access makes 160 SealedSecrets of about
// 1.4 MB (values that open with no key: they cost no RSA operation), and
// the controller, with deploy/'s heap flags, ran out of heap as they arrived
// and at every restart. Now its cache keeps summaries and a reconcile gets
// the whole object: it stays up, within deploy/'s memory, through a
// restart, and syncs ordinary SealedSecrets meanwhile; sealbox's own
// resources and readiness do not wait for the compatibility mode's cold
// start after the restart (no replica was ready within 180 s when they did).
// On a private control plane, so that 220 MB of SealedSecrets leave no trace.
// Measured 2026-11-28 on the shared 2-core machine: 3 min 54 s wall (160
// created in 101 s, normal-1 synced 20 s after the SIGKILL, compat's cold
// start of the restart done 97 s later; peak RSS 194 MiB, heap 35 MiB). The
// code before the slim cache (6b2e25d^) died of heap exhaustion at about the
// 130th SealedSecret as they arrived, so the count cannot go much lower.
// At ~4 minutes it is opt-in, to keep CI's run within its hour:
// SEALBOX_CHAOS_COMPAT_MEMORY=1 npm run test:chaos (skipped otherwise).
import { createPublicKey, randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bitnamiLabel, sealBitnamiValue } from '../../src/crypto/bitnami.js';
import type { ChaosControllerEnv } from '../chaos/controller-env.js';
import { setUpControllerEnv } from '../chaos/controller-env.js';
import type { PrivateCluster } from '../chaos/private-cluster.js';
import { startPrivateCluster } from '../chaos/private-cluster.js';
import { deployEnv, peakRssMb, pool } from '../chaos/tenant.js';
import { eventually } from '../cluster/helpers.js';
import { metricValue, scrape } from '../controller/metrics.js';
import { compatRbac } from '../controller/compat.js';
import { fetchCert } from '../controller/sealed.js';

const ENABLED = process.env.SEALBOX_CHAOS_COMPAT_MEMORY === '1';
const BIG = Number(process.env.SEALBOX_CHAOS_BIG_BITNAMI ?? '160');
/** deploy/'s memory limit for the container. */
const POD_LIMIT_MB = 256;
const BITNAMI = { group: 'bitnami.com', version: 'v1alpha1', plural: 'sealedsecrets' } as const;
const COMPAT_SYNCED = 'sealed secrets compatibility: informers synced; reconciling';

let pc: PrivateCluster;
let env: ChaosControllerEnv;
/** The tenant's namespace, where the bulky SealedSecrets are. */
let ns = '';
/** Another tenant's namespace, whose SealedSecrets must go on syncing (the work queue takes turns over namespaces). */
let other = '';

beforeAll(async () => {
  if (!ENABLED) return;
  pc = await startPrivateCluster('compat-memory');
  env = await setUpControllerEnv(pc.kc, { prefix: 'compatmem', watchedNamespaces: 2, extraArgs: ['--sealed-secrets-compat'], extraRbac: compatRbac, env: deployEnv() });
  ns = env.namespaces[0] ?? '';
  other = env.namespaces[1] ?? '';
}, 300_000);

afterEach(({ task }) => {
  if (task.result?.state !== 'fail') return;
  // what the logs said, for a failure on a CI machine (tearDown deletes them)
  const tail = (text: string): string => text.split('\n').slice(-30).join('\n');
  for (const c of env.controllers) process.stderr.write(`--- ${c.name} (pid ${String(c.pid)}, ${c.alive() ? 'alive' : 'gone'}):\n${tail(c.log())}\n`);
});

afterAll(async () => {
  if (!ENABLED) return;
  await env.tearDown();
  await pc.stop();
}, 120_000);

function bitnami(namespace: string, name: string, encryptedData: Record<string, string>): object {
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace }, spec: { encryptedData, template: { metadata: { name, namespace } } } };
}

const started = Date.now();
function note(what: string): void {
  process.stderr.write(`chaos compat-memory: ${what} at ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

/** Seals a value with the controller's certificate, as kubeseal does, creates the SealedSecret in the other namespace and resolves once its Secret exists. */
async function syncOne(name: string, timeoutMs: number): Promise<void> {
  const ctl = await env.leader(timeoutMs);
  const cert = createPublicKey(await fetchCert(ctl.url));
  const value = sealBitnamiValue(cert, Buffer.from(`value-of-${name}`), bitnamiLabel('strict', other, name));
  await pc.kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...BITNAMI, namespace: other, body: bitnami(other, name, { v: Buffer.from(value).toString('base64') }) });
  const core = pc.kc.makeApiClient(k8s.CoreV1Api);
  const secret = await eventually(`Secret ${other}/${name}`, async () => core.readNamespacedSecret({ namespace: other, name }).catch(() => undefined), timeoutMs, 200);
  expect(Buffer.from(secret.data?.v ?? '', 'base64').toString()).toBe(`value-of-${name}`);
  note(`${name} synced`);
}

/** The Synced condition's status of SealedSecret `name`, if it has one. */
async function synced(name: string): Promise<string | undefined> {
  const o = await pc.kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...BITNAMI, namespace: ns, name }) as { status?: { conditions?: { type: string; status: string }[] } };
  return o.status?.conditions?.find((c) => c.type === 'Synced')?.status;
}

describe.runIf(ENABLED)(`${String(BIG)} bitnami SealedSecrets of about 1.4 MB in compatibility mode`, () => {
  it('leave the controller up, within deploy/ memory, through a restart, and syncing other SealedSecrets', async () => {
    const custom = pc.kc.makeApiClient(k8s.CustomObjectsApi);
    const names = Array.from({ length: BIG }, (_, i) => `bulky-${String(i)}`);
    await pool(names, 4, async (name) => {
      await custom.createNamespacedCustomObject({ ...BITNAMI, namespace: ns, body: bitnami(ns, name, { blob: randomBytes(1_050_000).toString('base64') }) });
    });
    note(`${String(BIG)} created`);
    const first = env.controllers[0];
    if (first === undefined) throw new Error('no controller');
    expect(first.alive(), 'the controller survived the SealedSecrets arriving').toBe(true);
    await syncOne('normal-0', 90_000);
    await eventually('a bulky SealedSecret reconciled (Synced False: no key opens it)', async () => ((await synced('bulky-0')) === 'False' ? true : undefined), 60_000, 500);

    // a restart lists them all again: this is where it died at every start
    await first.kill('SIGKILL');
    const second = await env.start('controller-1');
    // sealbox's own resources and readiness do not wait for the compatibility
    // mode's cold start (it used to take them past 180 s): the lease (15 s) and a moment
    await syncOne('normal-1', 60_000);
    await eventually('the compatibility mode\'s informers synced after the restart', () => Promise.resolve(second.log().includes(COMPAT_SYNCED) || !second.alive() ? true : undefined), 300_000, 500);
    note('compat synced after the restart');
    expect(second.alive(), 'the controller survived its restart').toBe(true);
    await syncOne('normal-2', 60_000);
    const heap = metricValue(await scrape(second.url), 'sealbox_nodejs_heap_size_used_bytes') / 2 ** 20;
    const rss = peakRssMb(second.pid);
    process.stderr.write(`chaos compat-memory: ${String(BIG)} bitnami SealedSecrets of ~1.4 MB; after restart heap ${heap.toFixed(0)} MiB, peak RSS ${rss.toFixed(0)} MiB\n`);
    expect(rss, 'peak RSS (MiB)').toBeLessThan(POD_LIMIT_MB);
    expect(heap, 'heap in use (MiB)').toBeLessThan(96);
  });
});
