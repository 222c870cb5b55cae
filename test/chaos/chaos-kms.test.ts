// The KMS down for 60 s while the controller works (issue 7, item 1): moto
// (AWS KMS) is frozen with SIGSTOP — connections hang, as with a KMS that is
// unreachable behind a firewall — and continued with SIGCONT on the same port
// (moto keeps its keys in memory only, so it cannot be restarted). The
// controller runs with the product's defaults for --kms-timeout (15 s),
// --max-backoff (5 m), --workers (4) and --resync-period (10 m). During the
// outage, resources that need KMS report ProviderUnavailable and keep their
// Secrets as they were, resources whose data keys are cached stay Ready, and
// resources sealed for the cluster key keep syncing; afterwards everything
// converges without a restart.
import { describe, expect, it } from 'vitest';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import type { AwsKmsKey } from '../../src/keys/aws-kms.js';
import { eventually } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, fetchCert, getSealed, readSecret, readyCondition, seal, secretText, updateSealedSpec, waitForReady, waitForSecret } from '../controller/sealed.js';
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from '../peers/moto.js';

const OUTAGE_MS = 60_000;
const KMS_RESOURCES = 10;
// registered before useController's hooks: the controller starts with moto's endpoint in its environment
const moto = useMoto('chaos-kms');

const env = useController({ prefix: 'chaos-kms', resyncPeriod: '10m', extraArgs: ['--kms-providers', 'aws', '--kms-allow', `default,aws:${MOTO_ACCOUNT}:${MOTO_REGION}`] });

async function sealKms(key: AwsKmsKey, name: string, value: string): Promise<SealedObject> {
  const s = await sealSecret({ name, namespace: env.namespace, type: 'Opaque', labels: {}, annotations: {}, data: new Map([['v', new Uint8Array(Buffer.from(value))]]) }, { scope: 'strict', wrappers: [key] });
  return sealedManifest(s) as unknown as SealedObject;
}

describe('the KMS down for 60 s', () => {
  it('reports ProviderUnavailable, keeps Secrets and cached resources as they were, keeps syncing cert-sealed resources, and recovers by itself', async () => {
    const ns = env.namespace;
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const key = await moto.newKey();
    const names = Array.from({ length: KMS_RESOURCES }, (_, i) => `kms-${i}`);
    for (const name of names) await createSealed(ns, await sealKms(key, name, `${name}-v1`));
    for (const name of names) expect(secretText(await waitForSecret(ns, name, () => true, 60_000)).v).toBe(`${name}-v1`);
    // seal what the outage will need before KMS goes away
    const half = names.slice(0, KMS_RESOURCES / 2);
    const updates = await Promise.all(half.map((name) => sealKms(key, name, `${name}-v2`)));
    const fresh = await Promise.all(['kms-new-0', 'kms-new-1'].map((name) => sealKms(key, name, `${name}-v1`)));
    const cert = await fetchCert(ctl.url);

    moto.freeze();
    const stoppedAt = Date.now();
    let certLatencyMs = 0;
    try {
      for (const [i, name] of half.entries()) await updateSealedSpec(ns, name, updates[i]?.spec ?? { scope: 'strict', encryptedData: {}, dataKeys: [] });
      for (const f of fresh) await createSealed(ns, f);
      const certStart = Date.now();
      for (let i = 0; i < 5; i++) await createSealed(ns, await seal(cert, { name: `cert-${i}`, namespace: ns, data: { v: `cert-${i}` } }));
      for (let i = 0; i < 5; i++) await waitForSecret(ns, `cert-${i}`, () => true, OUTAGE_MS);
      certLatencyMs = Date.now() - certStart;
      expect(Date.now() - stoppedAt, 'cert-sealed resources synced while KMS was down').toBeLessThan(OUTAGE_MS);

      for (const name of [...half, 'kms-new-0', 'kms-new-1']) {
        const o = await waitForReady(ns, name, 'False', OUTAGE_MS);
        expect({ name, reason: readyCondition(o)?.reason }).toEqual({ name, reason: 'ProviderUnavailable' });
        expect(readyCondition(o)?.message).toContain(`aws-kms:${key.keyArn ?? ''}: unwrap failed:`);
      }
      expect(Date.now() - stoppedAt, 'the outage was reported while it lasted').toBeLessThan(OUTAGE_MS);
      // what was there stays: old values in the Secrets, cached resources Ready
      for (const name of half) expect(secretText((await readSecret(ns, name)) ?? {}).v).toBe(`${name}-v1`);
      for (const name of names.slice(KMS_RESOURCES / 2)) expect(readyCondition(await getSealed(ns, name))?.status).toBe('True');
      expect(await readSecret(ns, 'kms-new-0')).toBeUndefined();
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    } finally {
      moto.thaw();
    }
    const resumedAt = Date.now();

    await eventually('every KMS-sealed resource to converge after the outage', async () => {
      for (const [i, name] of half.entries()) if (secretText((await readSecret(ns, name)) ?? {}).v !== `${name}-v2` || updates[i] === undefined) return undefined;
      for (const f of fresh) if ((await readSecret(ns, f.metadata.name)) === undefined) return undefined;
      return true;
    }, 360_000, 500);
    const recoveryMs = Date.now() - resumedAt;
    for (const name of [...names, 'kms-new-0', 'kms-new-1']) await waitForReady(ns, name, 'True', 60_000);
    expect(ctl.alive()).toBe(true);
    const m = await scrape(ctl.url);
    expect(metricValue(m, 'sealbox_kms_calls_total', (l) => l.result === 'error')).toBeGreaterThan(0);
    expect(metricValue(m, 'sealbox_reconcile_errors_total', (l) => l.reason === 'ProviderUnavailable')).toBeGreaterThan(0);
    process.stderr.write(`KMS outage: ${(OUTAGE_MS / 1000).toFixed(0)} s; cert-sealed resources synced in ${(certLatencyMs / 1000).toFixed(1)} s during it; ${half.length + fresh.length} KMS resources ProviderUnavailable, converged ${(recoveryMs / 1000).toFixed(1)} s after KMS returned\n`);
  }, 600_000);
});
