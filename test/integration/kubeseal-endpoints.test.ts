// The real kubeseal v0.36.6 against sealbox's controller in compatibility
// mode, through the API server's service proxy as in a real cluster:
// `--fetch-cert`, sealing online, `--validate` and `--re-encrypt` reach the
// controller as the Service `sealed-secrets-controller` (selector-less, with a
// placeholder Pod claiming this machine's address: test/cluster/service-proxy.ts),
// and `--recovery-unseal` reads the key Secrets the controller labelled as
// Sealed Secrets does.
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { bitnamiLabel, decryptBitnamiValue } from '../../src/crypto/bitnami.js';
import { SEALED_SECRETS_KEY_LABEL } from '../../src/format/bitnami.js';
import { eventually, kubeConfig, kubeconfigPath } from '../cluster/helpers.js';
import { exposeController, hostAddress } from '../cluster/service-proxy.js';
import { useController } from '../controller/harness.js';
import { ROOT, ok, sealboxAsync } from '../helpers/cli.js';
import { run } from '../helpers/child.js';

const SERVICE = 'sealed-secrets-controller';
const env = useController({ prefix: 'kubeseal', extraArgs: ['--sealed-secrets-compat', '--listen', `${hostAddress()}:0`] });
const kubeseal = execFileSync('bash', [join(ROOT, 'test/cluster/ss-suite.sh'), 'kubeseal'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

interface Sealed {
  metadata: { name: string; namespace: string };
  spec: { encryptedData: Record<string, string> };
}

/** Runs kubeseal against the test's controller; resolves with its exit status and output. */
async function kubesealRun(args: readonly string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await run(kubeseal, ['--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, '--controller-name', SERVICE, ...args], { input });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

function secretJson(name: string, data: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: env.namespace }, type: 'Opaque', stringData: data });
}

async function seal(name: string, data: Record<string, string>): Promise<string> {
  const r = await kubesealRun(['-o', 'json'], secretJson(name, data));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** The controller's key Secrets, newest first. */
async function keySecrets(): Promise<k8s.V1Secret[]> {
  const list = await kubeConfig().makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: env.controllerNamespace, labelSelector: `${SEALED_SECRETS_KEY_LABEL}=active` });
  return list.items.sort((x, y) => (y.metadata?.creationTimestamp?.getTime() ?? 0) - (x.metadata?.creationTimestamp?.getTime() ?? 0));
}

beforeAll(async () => {
  await exposeController(kubeConfig(), env.controllerNamespace, SERVICE, env.controllers[0]?.url ?? '');
}, 120_000);

describe('kubeseal against sealbox --sealed-secrets-compat', () => {
  it('fetches the newest certificate, the one in the key Secret labelled as Sealed Secrets labels its keys', async () => {
    const r = await kubesealRun(['--fetch-cert']);
    expect(r.status).toBe(0);
    const [newest] = await keySecrets();
    expect(r.stdout).toBe(Buffer.from(newest?.data?.['tls.crt'] ?? '', 'base64').toString('utf8'));
  });

  it('validates what it sealed online, and refuses it once renamed', async () => {
    const sealed = await seal('valid', { password: 'p1' });
    expect(await kubesealRun(['--validate'], sealed)).toMatchObject({ status: 0 });
    const renamed = JSON.stringify({ ...(JSON.parse(sealed) as Sealed), metadata: { name: 'renamed', namespace: env.namespace } });
    const r = await kubesealRun(['--validate'], renamed);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('unable to decrypt sealed secret: renamed');
  });

  it('re-encrypts a SealedSecret for the newest key after a rotation, and --recovery-unseal opens the result with the labelled keys', async () => {
    const before = await seal('rotated', { user: 'u', password: 'p2' });
    ok(await sealboxAsync(['keys', 'rotate', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]));
    const keys = await eventually('a second labelled key, served as the newest', async () => {
      const k = await keySecrets();
      const served = await (await fetch(`${env.controllers[0]?.url ?? ''}/v1/cert.pem`)).text();
      return k.length === 2 && served === Buffer.from(k[0]?.data?.['tls.crt'] ?? '', 'base64').toString('utf8') ? k : undefined;
    }, 60_000);
    const r = await kubesealRun(['--re-encrypt', '-o', 'json'], before);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const after = JSON.parse(r.stdout) as Sealed;
    const label = bitnamiLabel('strict', env.namespace, 'rotated');
    const [newKey, oldKey] = keys.map((k) => createPrivateKey(Buffer.from(k.data?.['tls.key'] ?? '', 'base64')));
    if (newKey === undefined || oldKey === undefined) throw new Error('no keys');
    for (const [k, v] of Object.entries({ user: 'u', password: 'p2' })) {
      const bytes = new Uint8Array(Buffer.from(after.spec.encryptedData[k] ?? '', 'base64'));
      expect(Buffer.from(decryptBitnamiValue(newKey, bytes, label) ?? []).toString('utf8')).toBe(v);
      expect(decryptBitnamiValue(oldKey, bytes, label)).toBeNull();
    }
    const backup = join(env.dir, 'keys.json');
    writeFileSync(backup, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: keys }), { mode: 0o600 });
    const recovered = await run(kubeseal, ['--recovery-unseal', '--recovery-private-key', backup, '-o', 'json'], { input: r.stdout });
    expect(recovered.status).toBe(0);
    expect((JSON.parse(recovered.stdout.toString('utf8')) as { data: Record<string, string> }).data).toEqual({ user: 'dQ==', password: 'cDI=' });
  });
});
