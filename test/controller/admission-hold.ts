// A validating admission webhook that holds requests: the real API server
// calls it (https on loopback, its own self-signed certificate in the
// caBundle) before it admits a write, and the write waits until the test
// releases it, or until the API server's webhook timeout (30 s, then
// failurePolicy Ignore admits it). A slow policy webhook does this to a
// controller's writes in a real cluster; here it makes reconciles of chosen
// objects slow without touching the controller.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { makeTlsCertificate } from '../peers/keyvault-server.mjs';
import { eventually, kubeConfig } from '../cluster/helpers.js';

/** Which writes the webhook is called for: one resource (or subresource) of one API group, in one namespace. */
export interface HoldRule {
  readonly apiGroup: string;
  readonly apiVersion: string;
  /** e.g. `sealedsecrets/status` */
  readonly resource: string;
  readonly namespace: string;
  /** Writes to objects whose name this accepts are held; others are admitted at once. */
  readonly hold: (name: string) => boolean;
}

/** A running holding webhook. */
export interface AdmissionHold {
  /** Names of the objects whose writes are being held now (one entry per write). */
  readonly held: readonly string[];
  /** Names of every object the webhook was called for, in order. */
  readonly seen: readonly string[];
  /** Admits every held write and every later one. */
  release(): void;
  /** Deletes the webhook configuration, releases what it holds and closes the server. */
  close(): Promise<void>;
}

interface Review { request?: { uid?: string; name?: string } }

function admit(res: ServerResponse, uid: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
}

function webhookConfig(name: string, url: string, caPem: string, r: HoldRule): k8s.V1ValidatingWebhookConfiguration {
  return {
    metadata: { name },
    webhooks: [{
      name: `${name}.sealbox.test`,
      clientConfig: { url, caBundle: Buffer.from(caPem).toString('base64') },
      rules: [{ apiGroups: [r.apiGroup], apiVersions: [r.apiVersion], resources: [r.resource], operations: ['UPDATE'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': r.namespace } },
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      timeoutSeconds: 30,
      failurePolicy: 'Ignore',
    }],
  };
}

/**
 * Starts the webhook server and registers it with the API server (a
 * ValidatingWebhookConfiguration for UPDATE of `rule.resource` in
 * `rule.namespace`). Resolves once it is registered; call `probe` to
 * know it is in effect (the API server picks configurations up a moment later).
 */
export async function startAdmissionHold(rule: HoldRule): Promise<AdmissionHold> {
  const { certPem, keyPem } = makeTlsCertificate();
  const waiting: { name: string; done: () => void }[] = [];
  const seen: string[] = [];
  let holding = true;
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
      const name = review.request?.name ?? '';
      const done = (): void => { admit(res, review.request?.uid ?? ''); };
      seen.push(name);
      if (holding && rule.hold(name)) waiting.push({ name, done });
      else done();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${String((server.address() as AddressInfo).port)}/hold`;
  const name = `sealbox-hold-${randomBytes(4).toString('hex')}`;
  const admission = kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
  await admission.createValidatingWebhookConfiguration({ body: webhookConfig(name, url, certPem, rule) });
  const release = (): void => {
    holding = false;
    for (const w of waiting.splice(0)) w.done();
  };
  return {
    get held() { return waiting.map((w) => w.name); },
    seen,
    release,
    async close() {
      release();
      await admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => { r(); }));
    },
  };
}

/** Resolves once `write` (an UPDATE the webhook matches, of object `name`) reaches the webhook. */
export async function probeAdmissionHold(hold: AdmissionHold, name: string, write: () => Promise<unknown>): Promise<void> {
  await eventually(`the admission webhook to be called for ${name}`, async () => {
    await write();
    return hold.seen.includes(name) ? true : undefined;
  }, 30_000, 300);
}
