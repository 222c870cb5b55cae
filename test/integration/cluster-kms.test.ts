/**
 * The controller with AWS KMS recipients on the real control plane and a real
 * moto server started by this file: it unseals with the pod's credentials
 * (the AWS default chain, from the environment), reports an outage as
 * ProviderUnavailable, recovers by itself, and serves resyncs from its
 * data-key cache without calling KMS.
 *
 * The outage is moto stopped with SIGSTOP and continued with SIGCONT, on the
 * same port: a restarted moto would have lost its keys (it holds them in
 * memory only), so a stop-and-continue is the way to bring the same KMS back.
 */
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import type { AwsKmsKey } from '../../src/keys/aws-kms.js';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, getSealed } from '../controller/sealed.js';
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from '../peers/moto.js';

// Registered before useController's hooks, so the controller starts with moto's endpoint in its environment.
const moto = useMoto('cluster-kms', 120_000);

const env = useController({
  prefix: 'kms',
  resyncPeriod: '2s',
  // moto's account; the default allowlist knows no account without AWS_ROLE_ARN
  extraArgs: ['--kms-providers', 'aws', '--kms-allow', `default,aws:${MOTO_ACCOUNT}:${MOTO_REGION}`, '--kms-timeout', '3s', '--max-backoff', '4s'],
});

const newKey = (): Promise<AwsKmsKey> => moto.newKey('sealbox controller test');

async function sealWithKms(key: AwsKmsKey, name: string, value: string): Promise<SealedObject> {
  const s = await sealSecret(
    { name, namespace: env.namespace, type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', new Uint8Array(Buffer.from(value))]]) },
    { scope: 'strict', wrappers: [key] },
  );
  return sealedManifest(s) as unknown as SealedObject;
}

async function secretValue(name: string): Promise<string | undefined> {
  try {
    const s = await kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name, namespace: env.namespace });
    const v = s.data?.password;
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
  } catch {
    return undefined;
  }
}

async function ready(name: string): Promise<{ status: string; reason: string; message: string } | undefined> {
  return (await getSealed(env.namespace, name)).status?.conditions?.find((c) => c.type === 'Ready');
}

async function metrics(): Promise<string> {
  const c = env.controllers[0];
  if (c === undefined) throw new Error('no controller');
  return scrape(c.url);
}

describe('controller with AWS KMS recipients', () => {
  it('unseals a KMS-sealed resource into a Secret with the credentials of its environment', async () => {
    const key = await newKey();
    await createSealed(env.namespace, await sealWithKms(key, 'kms-db', 's3cret'));

    expect(await eventually('the Secret of kms-db', () => secretValue('kms-db'), 60_000)).toBe('s3cret');
    expect(await eventually('Ready=True', async () => ((await ready('kms-db'))?.status === 'True' ? true : undefined))).toBe(true);
    expect(metricValue(await metrics(), 'sealbox_kms_calls_total', (l) => l.provider === 'aws' && l.result === 'ok')).toBeGreaterThanOrEqual(1);
  });

  it('reports a stopped KMS as ProviderUnavailable naming aws kms, and recovers by itself when it continues', async () => {
    const key = await newKey();
    const sealed = await sealWithKms(key, 'kms-outage', 'during-outage');
    moto.freeze();
    try {
      await createSealed(env.namespace, sealed);
      const down = await eventually('Ready=False', async () => {
        const r = await ready('kms-outage');
        return r?.status === 'False' ? r : undefined;
      }, 60_000);
      expect(down.reason).toBe('ProviderUnavailable');
      // transient: Reconciling=True while it retries (kstatus: InProgress), never Stalled
      const conditions = (await getSealed(env.namespace, 'kms-outage')).status?.conditions ?? [];
      expect(conditions.map((c) => [c.type, c.status, c.reason])).toEqual([['Ready', 'False', 'ProviderUnavailable'], ['Reconciling', 'True', 'ProviderUnavailable']]);
      // the controller's fixed form (issue 11, 4b): the key, and no network text
      expect(down.message).toMatch(new RegExp(`aws-kms:${(key.keyArn ?? '').replace(/[/]/g, '\\/')}: unwrap failed: (no answer in time|the key service could not be reached);`));
      expect(down.message).not.toContain('during-outage');
      expect(await secretValue('kms-outage')).toBeUndefined();
    } finally {
      moto.thaw();
    }

    expect(await eventually('the Secret after KMS is back', () => secretValue('kms-outage'), 60_000)).toBe('during-outage');
    expect(await eventually('Ready=True', async () => ((await ready('kms-outage'))?.status === 'True' ? true : undefined))).toBe(true);
    expect((await getSealed(env.namespace, 'kms-outage')).status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  });

  it('makes no KMS call when resyncing KMS-sealed resources (the data-key cache serves them)', async () => {
    await eventually('every resource ready', async () => (((await ready('kms-db'))?.status === 'True' && (await ready('kms-outage'))?.status === 'True') ? true : undefined));
    const before = await metrics();
    const unchanged = (t: string): number => metricValue(t, 'sealbox_reconciles_total', (l) => l.result === 'unchanged');

    // Two resources, resync every 2 s: wait for at least three full resyncs.
    const after = await eventually('three resyncs', async () => {
      const t = await metrics();
      return unchanged(t) >= unchanged(before) + 6 ? t : undefined;
    }, 30_000);

    expect(metricValue(after, 'sealbox_kms_calls_total')).toBe(metricValue(before, 'sealbox_kms_calls_total'));
  });
});
