// Key rotation on the real control plane, driven by the CLI as a user would:
// `sealbox keys rotate`, `sealbox cert fetch`, `sealbox seal` without --cert,
// and `sealbox reseal --controller-url`.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { eventually, kubeConfig, kubeconfigPath } from '../cluster/helpers.js';
import { ok, sealboxAsync } from '../helpers/cli.js';
import { blockLines, gitDiffLines } from '../helpers/diff.js';
import { useController } from '../controller/harness.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, readSecret, secretText, updateSealedSpec, waitForReady, waitForSecret } from '../controller/sealed.js';

const env = useController({ prefix: 'ctl-rot' });

interface KeyInfo { fingerprint: string; newest: boolean }

async function keys(url: string): Promise<KeyInfo[]> {
  const res = await fetch(`${url}/v1/keys`);
  expect(res.status).toBe(200);
  return (await res.json()) as KeyInfo[];
}

function secretYaml(name: string, namespace: string, data: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', stringData: data });
}

/** Seals with `sealbox seal` and no --cert: the certificate comes from the cluster. */
async function sealWithCli(dir: string, file: string, name: string, data: Record<string, string>): Promise<SealedObject> {
  const out = join(dir, file);
  ok(await sealboxAsync(['seal', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, '-o', out], { input: secretYaml(name, env.namespace, data) }));
  return parse(readFileSync(out, 'utf8')) as SealedObject;
}

const recipientIds = (s: SealedObject): string[] => s.spec.dataKeys.flatMap((g) => g.recipients.map((r) => r.id));

describe('key rotation', () => {
  it('adds a key on request, seals new secrets with it, still unseals old ones, and reseal moves a file to it by changing only its recipients', async () => {
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const ns = env.namespace;
    const [old] = await keys(ctl.url);
    if (old === undefined) throw new Error('no key');

    // sealed before the rotation: one applied now, one applied after
    const applied = await sealWithCli(env.dir, 'applied.yaml', 'applied', { v: 'one' });
    const later = await sealWithCli(env.dir, 'later.yaml', 'later', { user: 'u', password: 'p' });
    expect([...recipientIds(applied), ...recipientIds(later)]).toEqual([old.fingerprint, old.fingerprint]);
    await createSealed(ns, applied);
    await waitForReady(ns, 'applied', 'True');

    ok(await sealboxAsync(['keys', 'rotate', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]));
    const rotated = await eventually('a second key in /v1/keys', async () => {
      const k = await keys(ctl.url);
      return k.length === 2 ? k : undefined;
    }, 30_000);
    const newest = rotated.find((k) => k.newest);
    expect(newest?.fingerprint).not.toBe(old.fingerprint);
    expect(rotated.map((k) => k.fingerprint)).toContain(old.fingerprint);
    const fresh = newest?.fingerprint ?? '';
    const cm = await eventually('the new key in the sealbox-certs ConfigMap', async () => {
      const c = await kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ namespace: env.controllerNamespace, name: 'sealbox-certs' });
      return c.data?.fingerprints?.includes(fresh) === true ? c : undefined;
    }, 10_000);
    expect(cm.data?.fingerprints?.trim().split('\n')).toEqual([fresh, old.fingerprint]);
    // one request, one key: a few key-check intervals later there is no third
    await new Promise((r) => setTimeout(r, 3000));
    expect((await keys(ctl.url)).map((k) => k.fingerprint)).toEqual([fresh, old.fingerprint]);

    // `sealbox cert fetch` gets the new certificate; new seals use it
    const certFile = join(env.dir, 'fetched.pem');
    ok(await sealboxAsync(['cert', 'fetch', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, '-o', certFile]));
    const inspected = JSON.parse(ok(await sealboxAsync(['cert', 'inspect', certFile, '--output', 'json'])).stdout) as { fingerprint: string };
    expect(inspected.fingerprint).toBe(fresh);
    const after = await sealWithCli(env.dir, 'after.yaml', 'after', { v: 'two' });
    expect(recipientIds(after)).toEqual([fresh]);
    await createSealed(ns, after);
    const afterReady = await waitForReady(ns, 'after', 'True');
    expect(afterReady.status?.keyIds).toEqual([`cert:${fresh.slice(0, 12)}`]);
    expect(secretText(await waitForSecret(ns, 'after'))).toEqual({ v: 'two' });

    // old sealed resources still unseal: the one applied before, and one first applied now
    expect(secretText(await waitForSecret(ns, 'applied'))).toEqual({ v: 'one' });
    await createSealed(ns, later);
    const laterReady = await waitForReady(ns, 'later', 'True');
    expect(laterReady.status?.keyIds).toEqual([`cert:${old.fingerprint.slice(0, 12)}`]);
    expect(secretText(await waitForSecret(ns, 'later'))).toEqual({ user: 'u', password: 'p' });

    // reseal moves the file to the new key; git diff shows only recipients lines
    const original = join(env.dir, 'later.orig.yaml');
    const file = join(env.dir, 'later.yaml');
    copyFileSync(file, original);
    const first = ok(await sealboxAsync(['reseal', '--controller-url', ctl.url, file]));
    expect(first.stderr).toContain('1 file(s) resealed');
    const before = readFileSync(original, 'utf8');
    const resealedText = readFileSync(file, 'utf8');
    const diff = await gitDiffLines(original, file);
    expect(diff.removed.length + diff.added.length, diff.text).toBeGreaterThan(0);
    const outsideBefore = diff.removed.filter((n) => !blockLines(before, 'recipients').has(n));
    const outsideAfter = diff.added.filter((n) => !blockLines(resealedText, 'recipients').has(n));
    expect({ outsideBefore, outsideAfter }, diff.text).toEqual({ outsideBefore: [], outsideAfter: [] });
    const resealed = parse(resealedText) as SealedObject;
    expect(recipientIds(resealed)).toEqual([fresh]);
    expect(resealed.spec.encryptedData).toEqual(later.spec.encryptedData);

    // the resealed file still unseals to the same Secret, now with the new key
    await updateSealedSpec(ns, 'later', resealed.spec);
    const moved = await eventually('later to report the new key', async () => {
      const o = await waitForReady(ns, 'later', 'True');
      return o.status?.keyIds?.[0] === `cert:${fresh.slice(0, 12)}` ? o : undefined;
    }, 30_000);
    expect(moved.status?.keyIds).toEqual([`cert:${fresh.slice(0, 12)}`]);
    expect(secretText((await readSecret(ns, 'later')) ?? {})).toEqual({ user: 'u', password: 'p' });

    // a second reseal changes nothing
    const second = ok(await sealboxAsync(['reseal', '--controller-url', ctl.url, file]));
    expect(second.stderr).toContain('0 file(s) resealed');
    expect(readFileSync(file, 'utf8')).toBe(resealedText);
  }, 120_000);
});
