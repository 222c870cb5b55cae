// POST /v1/convert (sealbox convert): the controller's HTTP server,
// in-process with the committed test keys, on SealedSecrets made by the real
// kubeseal v0.36.6 (test/vectors/bitnami) and by our own bitnami sealer.
// test/integration/convert.test.ts drives it through the control plane.
import { createPublicKey } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CONVERT_SPARE_OPS, LIVE_CHECK_TOKENS, MAX_CONVERT_VALUES } from '../../../src/controller/convert.js';
import type { LiveBitnami } from '../../../src/controller/endpoint.js';
import type { SealingKey } from '../../../src/controller/keys.js';
import { Metrics } from '../../../src/controller/metrics.js';
import { startServer } from '../../../src/controller/server.js';
import type { GateLimits } from '../../../src/controller/admission.js';
import { bitnamiLabel, sealBitnamiValue } from '../../../src/crypto/bitnami.js';
import { unsealSealedSecret } from '../../../src/format/seal.js';
import { parseSealedSecret } from '../../../src/format/sealed.js';
import { BITNAMI_PLAINTEXT, bitnamiVector } from '../../helpers/bitnami-vectors.js';
import type { BitnamiSealed } from '../../helpers/bitnami-vectors.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../../helpers/keys.js';

function sealingKey(name: 'a' | 'b', createdAt: string): SealingKey {
  const identity = vectorIdentity(name);
  return { name: `sealbox-key-${name}`, createdAt: new Date(createdAt), sealingSince: new Date(createdAt), fingerprint: identity.fingerprint, certificatePem: vectorKey(name).certPem, identity, recipient: vectorRecipient(name) };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** Starts the server with `keys` (newest first), not in compatibility mode unless `liveBitnami` reads live SealedSecrets; returns its URL. */
async function start(keys: readonly SealingKey[], liveBitnami?: LiveBitnami, rewrapLimits?: GateLimits): Promise<string> {
  const server = await startServer({
    listen: '127.0.0.1:0', keys: { keys, newest: keys[0], countRsaOps: () => undefined }, metrics: new Metrics(),
    log: pino({ level: 'silent' }), extraUnwrappers: () => [], ready: () => true, liveBitnami, rewrapLimits,
  });
  servers.push(server);
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

async function convert(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/v1/convert`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

/** Unseals a converted answer with key `name`; returns its values as text. */
async function opened(text: string, name: 'a' | 'b' = 'b'): Promise<Record<string, string>> {
  const sealed = parseSealedSecret(JSON.parse(text), 'answer');
  const secret = await unsealSealedSecret(sealed, [vectorIdentity(name)], 'answer');
  return Object.fromEntries([...secret.data].map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

const plaintext = Object.fromEntries(Object.entries(BITNAMI_PLAINTEXT).map(([k, v]) => [k, v.toString('base64')]));

/** A SealedSecret sealed by our own bitnami sealer for key a. */
function ownSealed(meta: { name: string; namespace: string; annotations?: Record<string, string> }, values: Record<string, string>, template: unknown): BitnamiSealed {
  const pub = createPublicKey(vectorKey('a').certPem);
  const scope = meta.annotations?.['sealedsecrets.bitnami.com/namespace-wide'] === 'true' ? 'namespace-wide' : 'strict';
  const label = bitnamiLabel(scope, meta.namespace, meta.name);
  const encryptedData = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(sealBitnamiValue(pub, Buffer.from(v), label)).toString('base64')]));
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: meta, spec: { encryptedData, template } };
}

describe('POST /v1/convert', () => {
  it.each([
    ['a.strict.yaml', 'strict'],
    ['a.namespace-wide.yaml', 'namespace'],
    ['a.cluster-wide.yaml', 'cluster'],
  ])('converts %s, made by kubeseal for an older key, into a sealbox SealedSecret of scope %s for the newest key', async (file, scope) => {
    const b = sealingKey('b', '2026-03-01T00:00:00Z');
    const url = await start([b, sealingKey('a', '2026-01-01T00:00:00Z')]);
    const vector = bitnamiVector(file);
    const r = await convert(url, vector);
    expect(r.status, r.text).toBe(200);
    const doc = JSON.parse(r.text) as { apiVersion: string; metadata: unknown; spec: { scope: string; template: unknown; dataKeys: { recipients: { id: string }[] }[] } };
    expect(doc.apiVersion).toBe('sealbox.dev/v1');
    expect(doc.metadata).toEqual({ name: vector.metadata.name, namespace: vector.metadata.namespace });
    expect(doc.spec.scope).toBe(scope);
    // kubeseal copies the scope annotations into the template: the Secret has them today, and keeps them.
    const annotations = (vector.spec.template as { metadata: { annotations?: Record<string, string> } }).metadata.annotations;
    expect(doc.spec.template).toEqual({ type: 'Opaque', metadata: { labels: { app: 'db' }, ...(annotations === undefined ? {} : { annotations }) } });
    expect(doc.spec.dataKeys.flatMap((g) => g.recipients.map((x) => x.id))).toEqual([b.fingerprint]);
    expect(await opened(r.text)).toEqual(plaintext);
    for (const v of Object.values(BITNAMI_PLAINTEXT).filter((p) => p.length > 0)) expect(r.text).not.toContain(v.toString('utf8'));
  });

  it('renders template data with the opened values and seals the result, keeps type, immutable, labels and annotations', async () => {
    const url = await start([sealingKey('a', '2026-01-01T00:00:00Z')]);
    const template = { type: 'kubernetes.io/basic-auth', immutable: true, metadata: { labels: { team: 'x' }, annotations: { note: 'kept' } }, data: { url: 'postgres://app:{{ .password }}@db:5432', literal: 'plain' } };
    const input = ownSealed({ name: 'db', namespace: 'prod', annotations: { owner: 'team-x' } }, { password: 'hunter2', username: 'app' }, template);
    const r = await convert(url, { ...input, metadata: { ...input.metadata, labels: { tier: 'backend' } } });
    expect(r.status, r.text).toBe(200);
    const doc = JSON.parse(r.text) as { metadata: unknown; spec: { template: unknown } };
    expect(doc.metadata).toEqual({ name: 'db', namespace: 'prod', labels: { tier: 'backend' }, annotations: { owner: 'team-x' } });
    expect(doc.spec.template).toEqual({ type: 'kubernetes.io/basic-auth', immutable: true, metadata: { labels: { team: 'x' }, annotations: { note: 'kept' } } });
    const values = await opened(r.text, 'a');
    expect(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))).toEqual({ password: 'hunter2', username: 'app', url: 'postgres://app:hunter2@db:5432', literal: 'plain' });
    expect(r.text).not.toContain('hunter2');
  });

  it('refuses template data that does more than place values, before any RSA operation: the answer\'s length was an oracle of someone else\'s value', async () => {
    const a = sealingKey('a', '2026-01-01T00:00:00Z');
    const url = await start([a]);
    // The victim's SealedSecret, exactly as in Git (its label opens), with a template the attacker wrote:
    // rendered "true" or "false" and sealed, the answer's ciphertext length told whether the password starts with "h".
    const victim = bitnamiVector('a.strict.yaml');
    const probes = ['{{ hasPrefix "h" .password }}', '{{ .password | trunc 1 }}', 'x{{ .password }}{{ len .password }}', '{{ index . "password" }}', '{{ .password.x }}', '{{ if .password }}a{{ end }}'];
    for (const probe of probes) {
      const r = await convert(url, { ...victim, spec: { ...victim.spec, template: { ...victim.spec.template as object, data: { leak: probe } } } });
      expect(r.status, probe).toBe(422);
      expect(JSON.parse(r.text), probe).toMatchObject({ code: 'INPUT' });
      expect((JSON.parse(r.text) as { error: string }).error).toMatch(/template data "leak" does more than place values/);
      expect(r.text).not.toContain('hunter2');
    }
    expect(a.identity.privateOps).toBe(0);
    const plain = await convert(url, { ...victim, spec: { ...victim.spec, template: { ...victim.spec.template as object, data: { url: 'db://{{- .password -}}@x {{ $.empty }}{{/* a comment */}}' } } } });
    expect(plain.status, plain.text).toBe(200);
    expect(Buffer.from((await opened(plain.text, 'a')).url ?? '', 'base64').toString()).toBe('db://hunter2@x ');
  });

  describe('template data with functions', () => {
    const template = { type: 'Opaque', data: { token: '{{ .password | b64enc }}', upper: 'x-{{ upper .username }}' } };
    const values = { password: 'hunter2', username: 'app' };
    /** What the API server answers for `sealed` applied: the same spec, keys in another order, with server fields. */
    const applied = (sealed: BitnamiSealed): unknown => {
      const spec = sealed.spec as { encryptedData: Record<string, string>; template: { data: Record<string, string> } };
      const reversed = (m: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(m).reverse());
      return { ...sealed, metadata: { ...sealed.metadata, uid: 'u-1', resourceVersion: '42', generation: 1 }, spec: { template: { ...spec.template, data: reversed(spec.template.data) }, encryptedData: reversed(spec.encryptedData) }, status: { observedGeneration: 1 } };
    };

    it('converts them when the SealedSecret is exactly the live one of its namespace and name: the owner\'s template, rendered as its Secret holds it', async () => {
      const a = sealingKey('a', '2026-01-01T00:00:00Z');
      const input = ownSealed({ name: 'db', namespace: 'prod' }, values, template);
      const asked: string[] = [];
      const url = await start([a], (ns, name) => { asked.push(`${ns}/${name}`); return Promise.resolve(applied(input)); });
      const r = await convert(url, input);
      expect(r.status, r.text).toBe(200);
      expect(asked).toEqual(['prod/db']);
      const got = Object.fromEntries(Object.entries(await opened(r.text, 'a')).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      expect(got).toEqual({ ...values, token: Buffer.from('hunter2').toString('base64'), upper: 'x-APP' });
      expect(r.text).not.toContain('hunter2');
    });

    it('refuses them before any RSA operation, saying what to do, without compatibility mode, when the live one is absent or unreadable, or differs in template data, encrypted data or scope', async () => {
      const a = sealingKey('a', '2026-01-01T00:00:00Z');
      const input = ownSealed({ name: 'db', namespace: 'prod' }, values, template);
      const other = ownSealed({ name: 'db', namespace: 'prod' }, { ...values, password: 'hunter3' }, template);
      const spec = input.spec as { template: { data: Record<string, string> } };
      const cases: [string, LiveBitnami | undefined, RegExp][] = [
        ['no compatibility mode', undefined, /only in compatibility mode/],
        ['absent', () => Promise.resolve(undefined), /is not exactly the live SealedSecret/],
        ['forbidden (no RBAC)', () => Promise.reject(new Error('sealedsecrets.bitnami.com "db" is forbidden')), /could not read the live SealedSecret \(it needs get on sealedsecrets\.bitnami\.com/],
        ['template differs', () => Promise.resolve(applied({ ...input, spec: { ...input.spec, template: { ...spec.template, data: { ...spec.template.data, token: '{{ .password | b64enc  }}' } } } })), /is not exactly the live SealedSecret/],
        ['template has one entry more', () => Promise.resolve(applied({ ...input, spec: { ...input.spec, template: { ...spec.template, data: { ...spec.template.data, x: 'y' } } } })), /is not exactly the live SealedSecret/],
        ['encryptedData differs', () => Promise.resolve(applied(other)), /is not exactly the live SealedSecret/],
        ['scope differs', () => Promise.resolve(applied({ ...input, metadata: { ...input.metadata, annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } } })), /is not exactly the live SealedSecret/],
        ['not a SealedSecret', () => Promise.resolve({ kind: 'SealedSecret' }), /is not exactly the live SealedSecret/],
      ];
      for (const [why, live, reason] of cases) {
        const url = await start([a], live);
        const r = await convert(url, input);
        expect(r.status, why).toBe(422);
        const { error, code } = JSON.parse(r.text) as { error: string; code: string };
        expect(code, why).toBe('INPUT');
        expect(error, why).toMatch(reason);
        expect(error, why).toMatch(/template data "token" does more than place values .*apply the Sealed Secrets SealedSecret to the cluster first.*or render this entry yourself and add it with sealbox seal --merge-into/);
        expect(r.text, why).not.toContain('hunter2');
      }
      expect(a.identity.privateOps).toBe(0);
    });

    it('charges LIVE_CHECK_TOKENS more for the live check, a GET under the API rate limit reconciles share, and answers 429 without it when they are not left', async () => {
      // attack19: at one token each, the admission's 20 requests a second were
      // 20 GETs a second, 40% of the controller's default --kube-api-qps.
      const a = sealingKey('a', '2026-01-01T00:00:00Z');
      const input = ownSealed({ name: 'db', namespace: 'prod' }, values, template);
      const asked: string[] = [];
      const live: LiveBitnami = (ns, name) => { asked.push(`${ns}/${name}`); return Promise.resolve(applied(input)); };
      const limits = (perClientRate: number): GateLimits => ({ concurrency: 4, perClientConcurrency: 1, rate: 100, perClientRate });
      // A client's burst is twice its rate: LIVE_CHECK_TOKENS + 1 fit in one of 3, not in one of 2.
      const poor = await start([a], live, limits(2));
      const refused = await convert(poor, input);
      expect(refused.status, refused.text).toBe(429);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'REFUSED', error: expect.stringMatching(/checking its template against the live SealedSecret counts as 5 requests/) as unknown });
      expect(asked).toEqual([]);
      expect(a.identity.privateOps).toBe(0);
      expect((await convert(poor, ownSealed({ name: 'db', namespace: 'prod' }, values, { data: { url: 'db://{{ .password }}' } }))).status).toBe(200);
      const rich = await start([a], live, limits((LIVE_CHECK_TOKENS + 1) / 2));
      expect((await convert(rich, input)).status).toBe(200);
      expect(asked).toEqual(['prod/db']);
    });

    it('does not ask for the live object when the template only places values', async () => {
      const asked: string[] = [];
      const url = await start([sealingKey('a', '2026-01-01T00:00:00Z')], (ns, name) => { asked.push(`${ns}/${name}`); return Promise.resolve(undefined); });
      const r = await convert(url, ownSealed({ name: 'db', namespace: 'prod' }, values, { data: { url: 'db://{{ .password }}' } }));
      expect(r.status, r.text).toBe(200);
      expect(asked).toEqual([]);
    });
  });

  it('refuses a strict value moved to another namespace or name, a namespace-wide value moved to another namespace, and a strict one re-annotated as wider', async () => {
    const url = await start([sealingKey('a', '2026-01-01T00:00:00Z')]);
    const strict = bitnamiVector('a.strict.yaml');
    const wide = bitnamiVector('a.namespace-wide.yaml');
    const attempts = [
      { ...strict, metadata: { name: 'db', namespace: 'tenant-b' } },
      { ...strict, metadata: { name: 'other', namespace: 'prod' } },
      { ...wide, metadata: { ...wide.metadata, namespace: 'tenant-b' } },
      { ...strict, metadata: { ...strict.metadata, annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } } },
      { ...strict, metadata: { ...strict.metadata, annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } } },
    ];
    for (const body of attempts) {
      const r = await convert(url, body);
      expect(r.status, JSON.stringify(body.metadata)).toBe(422);
      expect(JSON.parse(r.text)).toMatchObject({ code: 'NO_KEY' });
      expect(r.text).toMatch(/no key could decrypt secret/);
      for (const v of Object.values(BITNAMI_PLAINTEXT).filter((p) => p.length > 0)) expect(r.text).not.toContain(v.toString('utf8'));
    }
  });

  it('spends at most one RSA operation per value, per key and a few more on values no key opens', async () => {
    const a = sealingKey('a', '2026-01-01T00:00:00Z');
    const url = await start([a]);
    const foreign = bitnamiVector('b.strict.yaml');
    const r = await convert(url, foreign);
    expect(r.status).toBe(422);
    expect(a.identity.privateOps).toBeLessThanOrEqual(Object.keys(foreign.spec.encryptedData).length + 1 + CONVERT_SPARE_OPS);
  });

  it('refuses more values than MAX_CONVERT_VALUES before any RSA operation, and bodies that are not one bitnami SealedSecret', async () => {
    const a = sealingKey('a', '2026-01-01T00:00:00Z');
    const url = await start([a]);
    const strict = bitnamiVector('a.strict.yaml');
    const value = strict.spec.encryptedData.password ?? '';
    const tooMany = { ...strict, spec: { encryptedData: Object.fromEntries(Array.from({ length: MAX_CONVERT_VALUES + 1 }, (_, i) => [`k${String(i)}`, value])) } };
    for (const body of [tooMany, 'kind: SealedSecret', { ...strict, apiVersion: 'sealbox.dev/v1' }, { ...strict, spec: { ...strict.spec, data: 'AAAA' } }]) {
      const r = await convert(url, body);
      expect(r.status).toBe(422);
      expect(JSON.parse(r.text)).toMatchObject({ code: 'INPUT' });
    }
    expect(a.identity.privateOps).toBe(0);
  });
});
