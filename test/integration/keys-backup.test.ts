/**
 * `sealbox keys backup` and `keys restore` across two real control planes:
 * the controller's keys leave the first (to a file, or to an Azure Key Vault
 * secret on the Key Vault stand-in), go into a fresh one, and a resource
 * sealed before the rebuild unseals after it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREATED_AT_ANNOTATION, SEALING_KEY_LABEL } from '../../src/keys/key-secret.js';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { eventually, kubeConfig, kubeconfigPath, kubeObject } from '../cluster/helpers.js';
import { startControlPlane } from '../cluster/control-plane.js';
import type { ControlPlane } from '../cluster/control-plane.js';
import { useController } from '../controller/harness.js';
import type { ControllerProcess } from '../controller/process.js';
import { startController } from '../controller/process.js';
import { SEALED, fetchCert, seal } from '../controller/sealed.js';
import { sealbox } from '../helpers/cli.js';
import { assertNoSpecViolations, drainSpecViolations } from '../peers/keyvault-check.js';
import { kmsEnv } from '../peers/kms-cli.js';
import type { Started } from '../peers/kms-servers.js';
import { startKeyVault } from '../peers/kms-servers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const crds = readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'crds', f));

const env = useController({ prefix: 'keys-backup' });
let dir = '';
let vault: Started | undefined;
let rebuilt: ControlPlane | undefined;
const controllers: ControllerProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-keys-backup-'));
  vault = await startKeyVault({ stateDir: join(dir, 'kv') });
  rebuilt = await startControlPlane({ id: `keys-restore-${randomBytes(4).toString('hex')}`, crdFiles: crds });
}, 120_000);

// The stand-in validates every request and response against Microsoft's OpenAPI spec (docs/KMS.md): a mismatch fails the test.
afterEach(async () => {
  if (vault?.caFile !== undefined) assertNoSpecViolations(await drainSpecViolations(vault.endpoint, readFileSync(vault.caFile, 'utf8')));
});

afterAll(async () => {
  for (const c of controllers) await c.kill('SIGTERM');
  await rebuilt?.stop();
  await vault?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

function rebuiltKc(): k8s.KubeConfig {
  if (rebuilt === undefined) throw new Error('the second control plane did not start');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(rebuilt.kubeconfig);
  return kc;
}

async function createNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: kubeObject<k8s.V1Namespace>({ metadata: { name } }) }).catch((err: unknown) => {
    if (!(err instanceof k8s.ApiException) || err.code !== 409) throw err;
  });
}

async function keyFingerprints(kc: k8s.KubeConfig, namespace: string): Promise<string[]> {
  const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace, labelSelector: `${SEALING_KEY_LABEL}=true` });
  return list.items.map((s) => s.metadata?.annotations?.['sealbox.dev/fingerprint'] ?? '').sort();
}

function azureEnv(): NodeJS.ProcessEnv {
  if (vault === undefined) throw new Error('the Key Vault stand-in did not start');
  return kmsEnv({ azure: { endpoint: vault.endpoint, ...(vault.caFile === undefined ? {} : { caFile: vault.caFile }), ...(vault.identityEndpoint === undefined ? {} : { identityEndpoint: vault.identityEndpoint, identityHeader: vault.identityHeader ?? '' }) } });
}

describe('sealbox keys backup and restore', () => {
  it('restores a backup file into a fresh control plane, where a resource sealed before the rebuild unseals', async () => {
    const controller = env.controllers[0];
    if (controller === undefined || rebuilt === undefined) throw new Error('setup failed');
    const sealed = await seal(await fetchCert(controller.url), { name: 'db', namespace: env.namespace, data: { password: 'sealed-before-rebuild' } });
    const file = join(dir, 'keys.yaml');

    const backup = sealbox(['keys', 'backup', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, '-o', file]);

    expect(backup.stderr).toContain('backed up 1 sealing key(s)');
    expect(backup.status).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kc = rebuiltKc();
    await createNamespace(kc, env.controllerNamespace);
    await createNamespace(kc, env.namespace);

    const restore = sealbox(['keys', 'restore', '--kubeconfig', rebuilt.kubeconfig, '--controller-namespace', env.controllerNamespace, '-f', file]);
    const again = sealbox(['keys', 'restore', '--kubeconfig', rebuilt.kubeconfig, '--controller-namespace', env.controllerNamespace, '-f', file]);

    expect(restore.stderr).toContain('restored 1 sealing key(s)');
    expect(again.stderr).toContain('restored 0 sealing key(s)');
    expect(await keyFingerprints(kc, env.controllerNamespace)).toEqual(await keyFingerprints(kubeConfig(), env.controllerNamespace));
    controllers.push(await startController({
      name: 'rebuilt', logDir: dir,
      args: ['--kubeconfig', rebuilt.kubeconfig, '--namespace', env.controllerNamespace, '--watch-namespaces', env.namespace,
        '--listen', '127.0.0.1:0', '--key-bits', '2048', '--no-leader-elect', '--log-level', 'debug'],
    }));
    await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...SEALED, namespace: env.namespace, body: { ...sealed, metadata: { ...sealed.metadata, namespace: env.namespace } } });

    const value = await eventually('the Secret in the rebuilt cluster', async () => {
      const s = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: 'db', namespace: env.namespace });
      return s.data?.password;
    }, 60_000);
    expect(Buffer.from(value, 'base64').toString()).toBe('sealed-before-rebuild');
    // The restored key is current: the controller made no key of its own.
    expect(await keyFingerprints(kc, env.controllerNamespace)).toHaveLength(1);
  });

  it('backs up many keys to a Key Vault secret, in parts, and restores exactly those keys', async () => {
    if (vault === undefined || rebuilt === undefined) throw new Error('setup failed');
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 7; i++) {
      const key = await generateSealingKey({ bits: 2048, commonName: 'sealbox-controller' });
      await core.createNamespacedSecret({ namespace: env.controllerNamespace, body: kubeObject<k8s.V1Secret>({
        metadata: { generateName: 'sealbox-key-', labels: { [SEALING_KEY_LABEL]: 'true' }, annotations: { 'sealbox.dev/fingerprint': key.fingerprint, [CREATED_AT_ANNOTATION]: `2020-01-0${String(i + 1)}T00:00:00.000Z` } },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(key.certificatePem).toString('base64'), 'tls.key': Buffer.from(key.privateKeyPem).toString('base64') },
      }) });
    }
    const secretId = `${vault.endpoint}/secrets/sealbox-keys`;

    const backup = sealbox(['keys', 'backup', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, '--to-azure-secret', secretId], { env: azureEnv() });

    expect(backup.stderr).toContain('backed up 8 sealing key(s)');
    expect(backup.status).toBe(0);
    const secrets = new SecretClient(vault.endpoint, { getToken: () => Promise.resolve({ token: vault?.token ?? '', expiresOnTimestamp: Date.now() + 3_600_000 }) }, {
      serviceVersion: '7.6', disableChallengeResourceVerification: true, tlsOptions: { ca: readFileSync(vault.caFile ?? '', 'utf8') },
    });
    const index = await secrets.getSecret('sealbox-keys');
    expect(index.properties.contentType).toBe('application/vnd.sealbox.key-backup-parts+json');
    expect((JSON.parse(index.value ?? '') as { parts: string[] }).parts.length).toBeGreaterThanOrEqual(2);
    const target = `restored-${randomBytes(3).toString('hex')}`;
    const kc = rebuiltKc();
    await createNamespace(kc, target);

    const restore = sealbox(['keys', 'restore', '--kubeconfig', rebuilt.kubeconfig, '--controller-namespace', target, '--from-azure-secret', secretId], { env: azureEnv() });

    expect(restore.stderr).toContain('restored 8 sealing key(s)');
    expect(restore.status).toBe(0);
    expect(await keyFingerprints(kc, target)).toEqual(await keyFingerprints(kubeConfig(), env.controllerNamespace));
  });

  it('refuses a file that is not a key backup, creating nothing', async () => {
    if (rebuilt === undefined) throw new Error('setup failed');
    const target = `refused-${randomBytes(3).toString('hex')}`;
    await createNamespace(rebuiltKc(), target);

    const r = sealbox(['keys', 'restore', '--kubeconfig', rebuilt.kubeconfig, '--controller-namespace', target, '-f', '-'], {
      input: 'apiVersion: v1\nkind: Secret\nmetadata: {name: x, labels: {sealbox.dev/sealing-key: "true"}}\ndata: {tls.crt: QUFB, tls.key: QUFB}\n',
    });

    expect(r.status).toBe(3);
    expect(r.stderr).toContain('not a PEM');
    expect(await keyFingerprints(rebuiltKc(), target)).toEqual([]);
  });
});
