// Sealed resources the controller must refuse: a tampered value, a resource
// moved to another namespace, and one sealed for a key this cluster does not
// have. Each reports a specific reason, records a Warning Event, writes no
// Secret, and leaks no plaintext into the log, events, status or metrics.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { eventually } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, eventsFor, fetchCert, getSealed, readSecret, seal, waitForReady } from '../controller/sealed.js';

const env = useController({ prefix: 'ctl-fail', watchedNamespaces: 2 });

/** A fresh plaintext per test that must never show up outside the Secret. */
function marker(): string {
  return `marker-${randomBytes(16).toString('hex')}`;
}

/** Flips one bit of the ciphertext (after key check and nonce) of a sealed value `sb1:GROUP:BASE64`. */
function flipCiphertextBit(value: string): string {
  const [prefix, group, body] = value.split(':');
  const bytes = Buffer.from(body ?? '', 'base64');
  const at = 4 + 12; // key check, nonce
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return `${prefix ?? ''}:${group ?? ''}:${bytes.toString('base64')}`;
}

/**
 * Waits for Ready=False with `reason` and a Warning Event with the same
 * reason, checks that no Secret exists, and that the plaintext is nowhere the
 * controller writes: its log, the namespace's events, the sealed resource
 * (status included) and /metrics. Returns the failure message.
 */
async function expectRefused(namespace: string, name: string, reason: string, plaintext: string): Promise<string> {
  const ctl = env.controllers[0];
  if (ctl === undefined) throw new Error('no controller');
  const obj = await waitForReady(namespace, name, 'False');
  const cond = obj.status?.conditions?.find((c) => c.type === 'Ready');
  expect(cond?.reason).toBe(reason);
  // a permanent failure: Stalled=True with the same reason and message (kstatus: Failed, so Flux fails fast), not Reconciling
  expect(obj.status?.observedGeneration).toBe(obj.metadata.generation);
  expect(obj.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([['Ready', 'False', reason], ['Stalled', 'True', reason]]);
  expect(obj.status?.conditions?.[1]?.message).toBe(cond?.message);
  const warning = await eventually(`a ${reason} Warning event on ${namespace}/${name}`, async () =>
    (await eventsFor(namespace, name)).find((e) => e.type === 'Warning' && e.reason === reason), 10_000);
  expect(warning.involvedObject).toMatchObject({ kind: 'SealedSecret', name, uid: obj.metadata.uid });
  expect(await readSecret(namespace, name)).toBeUndefined();

  const log = ctl.log();
  const metrics = await scrape(ctl.url);
  // the places searched really hold this failure, so a miss means no leak
  expect(ctl.logRecords().some((r) => r.name === name && r.reason === reason)).toBe(true);
  expect(metricValue(metrics, 'sealbox_reconcile_errors_total', (l) => l.reason === reason)).toBeGreaterThan(0);
  const haystacks = {
    log,
    events: JSON.stringify(await eventsFor(namespace, name)),
    status: JSON.stringify(await getSealed(namespace, name)),
    metrics,
  };
  const needles = [plaintext, Buffer.from(plaintext).toString('base64'), Buffer.from(plaintext).toString('hex')];
  for (const [where, text] of Object.entries(haystacks)) {
    for (const n of needles) expect(text.includes(n), `plaintext found in ${where}`).toBe(false);
  }
  return cond?.message ?? '';
}

describe('sealed resources the controller refuses', () => {
  it('reports a tampered value as Tampered, writes no Secret and leaks none of the values it could open', async () => {
    const ns = env.namespace;
    const secret = marker();
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    // values are opened in key order: "a-marker" authenticates (the controller
    // sees its plaintext) before "z-tampered" fails
    const sealed = await seal(cert, { name: 'tampered', namespace: ns, data: { 'a-marker': secret, 'z-tampered': marker() } });
    const bad: SealedObject = { ...sealed, spec: { ...sealed.spec, encryptedData: { ...sealed.spec.encryptedData, 'z-tampered': flipCiphertextBit(sealed.spec.encryptedData['z-tampered'] ?? '') } } };
    await createSealed(ns, bad);
    const message = await expectRefused(ns, 'tampered', 'Tampered', secret);
    expect(message).toContain('"z-tampered"');
  });

  it('reports a resource moved to another namespace as ScopeMismatch and writes no Secret', async () => {
    const [from = '', to = ''] = env.namespaces;
    const secret = marker();
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    const sealed = await seal(cert, { name: 'moved', namespace: from, data: { password: secret } });
    await createSealed(to, sealed);
    const message = await expectRefused(to, 'moved', 'ScopeMismatch', secret);
    expect(message).toContain(`"${from}"`);
    // the same sealed resource in the namespace it was sealed for is fine
    await createSealed(from, sealed);
    await waitForReady(from, 'moved', 'True');
  });

  it('reports a resource sealed for a key the cluster does not have as NoKey and writes no Secret', async () => {
    const ns = env.namespace;
    const secret = marker();
    const foreign = await generateSealingKey({ bits: 2048, commonName: 'another-cluster' });
    const sealed = await seal(foreign.certificatePem, { name: 'wrong-key', namespace: ns, data: { password: secret } });
    await createSealed(ns, sealed);
    const message = await expectRefused(ns, 'wrong-key', 'NoKey', secret);
    expect(message).toContain(foreign.fingerprint.slice(0, 12));
  });
});
