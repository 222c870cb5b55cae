// Heap per sealed resource (issue 17 §1): what the controller keeps of each
// sealed resource and its Secret once they are synced, measured with a full
// garbage collection and V8's heap statistics. The objects come as the API
// server sends them (managedFields, kubectl's last-applied copy, a status,
// uids, resourceVersions), streamed by a local HTTP server that speaks the
// watch protocol (sendInitialEvents, the initial-events-end bookmark), into
// KubeApi's informers with the controller's summaries; then the reconciler's
// sync record and write-fight state of each, set as a cold start sets them.
// At 100,000 resources this is what must fit under deploy/'s heap cap.
import { createHash, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FightDetector } from '../../../src/controller/fights.js';
import { MANAGED_LABEL, MANAGED_VALUE } from '../../../src/controller/plan.js';
import type { SealedSummary } from '../../../src/controller/sealed-cache.js';
import { summarizeSealed } from '../../../src/controller/sealed-cache.js';
import type { SecretSummary } from '../../../src/controller/secret-cache.js';
import { summarizeSecret } from '../../../src/controller/secret-cache.js';
import { SyncRecords } from '../../../src/controller/sync-records.js';
import { KubeApi } from '../../../src/kube/api.js';
import type { KubeInformer } from '../../../src/kube/types.js';

/** Resources measured (each a sealed resource and its Secret: 20,000 cache entries), in 150 namespaces. */
const N = 10_000;
/** Heap per resource allowed: 100,000 then take under 70 MiB. Before issue 17's slimming it was ~1,800 bytes, 670 before 30b5c6d, 592 after. */
const MAX_BYTES_PER_RESOURCE = 720;
const TIME = '2026-11-28T20:00:00Z';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections. */
async function heapUsed(): Promise<number> {
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 3; i++) gc();
  return getHeapStatistics().used_heap_size;
}

const blob = createHash('sha512').update('cache-memory').digest('base64').repeat(8);
/** `n` base64 characters that differ with `i`. */
const b64 = (i: number, n: number): string => `${String(i)}${blob}`.slice(0, n);
const where = (i: number): { namespace: string; name: string } => ({ namespace: `team-${String(i % 150).padStart(3, '0')}-prod`, name: `app-secret-${String(10_000 + i)}` });
const managed = (manager: string, fields: unknown): unknown => ({ manager, operation: 'Update', apiVersion: 'v1', time: TIME, fieldsType: 'FieldsV1', fieldsV1: fields });
const KEYS = ['username', 'password', 'database-url', 'api-key', 'signing-secret'];

/** A sealed resource as the API server sends it: before its first sync, or with the status sealbox writes. */
function sealedObject(i: number, uid: string, rv: number, synced: boolean): unknown {
  const { namespace, name } = where(i);
  const spec = {
    scope: 'strict', template: { type: 'Opaque' },
    dataKeys: [{ id: b64(i, 16), commitment: b64(i + 1, 43), recipients: [{ type: 'cert', id: `sha256:${blob.slice(0, 43)}`, wrapped: b64(i, 344) }] }],
    encryptedData: Object.fromEntries(KEYS.map((k, j) => [k, b64(i + j, 100)])),
  };
  const ready = { type: 'Ready', status: 'True', reason: 'Unsealed', message: 'the secret matches the sealed resource', lastTransitionTime: TIME, observedGeneration: 1 };
  return {
    apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret',
    metadata: {
      name, namespace, uid, resourceVersion: String(rv), generation: 1, creationTimestamp: TIME, labels: { app: 'app' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `{"spec":{"scope":"strict","encryptedData":{"password":"${b64(i, 100)}"}}}` },
      managedFields: [managed('kubectl-client-side-apply', { 'f:spec': {} }), ...(synced ? [managed('sealbox', { 'f:status': {} })] : [])],
    },
    spec,
    ...(synced ? { status: { observedGeneration: 1, conditions: [ready], keyIds: [`cert:${blob.slice(0, 16)}`], secretName: name } } : {}),
  };
}

/** The Secret sealbox wrote for sealed resource `i`. */
function secretObject(i: number, uid: string, owner: string, rv: number): unknown {
  const { namespace, name } = where(i);
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: {
      name, namespace, uid, resourceVersion: String(rv), creationTimestamp: TIME, labels: { app: 'app', [MANAGED_LABEL]: MANAGED_VALUE },
      ownerReferences: [{ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name, uid: owner, controller: true, blockOwnerDeletion: true }],
      managedFields: [managed('sealbox', { 'f:data': {}, 'f:metadata': {} })],
    },
    data: Object.fromEntries(KEYS.map((k, j) => [k, b64(i * 7 + j, 60)])),
  };
}

/** Events per resource path; `sealedsecrets` gets each object again, MODIFIED with its status, after the initial list. */
interface Script { readonly count: number; readonly uids: readonly string[]; readonly owners: readonly string[] }

/** A local API server that serves only the streaming initial list (watch + sendInitialEvents) of both resources. */
async function watchServer(s: Script): Promise<{ url: string; close(): Promise<void> }> {
  const open: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const sealed = url.pathname === '/apis/sealbox.dev/v1/sealedsecrets';
    if ((!sealed && url.pathname !== '/api/v1/secrets') || url.searchParams.get('sendInitialEvents') !== 'true') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    open.push(res);
    const send = async (type: string, object: unknown): Promise<void> => {
      if (!res.write(`${JSON.stringify({ type, object })}\n`)) await new Promise((r) => res.once('drain', r));
    };
    void (async () => {
      for (let i = 0; i < s.count; i++) await send('ADDED', sealed ? sealedObject(i, s.owners[i] ?? '', 100 + i, false) : secretObject(i, s.uids[i] ?? '', s.owners[i] ?? '', 300_000 + i));
      await send('BOOKMARK', { kind: sealed ? 'SealedSecret' : 'Secret', apiVersion: 'v1', metadata: { resourceVersion: '900000', annotations: { 'k8s.io/initial-events-end': 'true' } } });
      if (sealed) for (let i = 0; i < s.count; i++) await send('MODIFIED', sealedObject(i, s.owners[i] ?? '', 200_000 + i, true));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    close: () => new Promise((r) => { for (const o of open) o.destroy(); server.close(() => { r(); }); }),
  };
}

function kubeApi(server: string): KubeApi {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  return new KubeApi(kc, { qps: 1000, burst: 1000 });
}

/** What the controller keeps of `count` synced resources: both caches, sync records and fight state. */
interface Kept { sealed: KubeInformer<SealedSummary>; secrets: KubeInformer<SecretSummary>; records: SyncRecords; fights: FightDetector }

/** Fills the controller's per-resource state for `count` resources, as a cold start leaves it. */
async function fill(count: number): Promise<Kept> {
  // JSON round trip: flat strings, as the API server's would be (randomUUID's are ConsStrings)
  const ids = JSON.parse(JSON.stringify(Array.from({ length: 2 * count }, () => randomUUID()))) as string[];
  const server = await watchServer({ count, uids: ids.slice(0, count), owners: ids.slice(count) });
  const api = kubeApi(server.url);
  try {
    const secrets = api.secretInformer(`${MANAGED_LABEL}=${MANAGED_VALUE}`, undefined, summarizeSecret);
    // as the controller wires them (watches.ts): a new entry shares the other cache's name string
    const sealed = api.sealedInformer(undefined, (obj, old: SealedSummary | undefined) => summarizeSealed(obj, old, (ns, name) => secrets.get(name, ns)?.metadata.name));
    let synced = 0;
    sealed.on('update', (s) => { if (s.status.since.length > 0) synced++; });
    await secrets.start();
    await sealed.start();
    while (synced < count) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([sealed.stop(), secrets.stop()]);
    const records = new SyncRecords();
    const fights = new FightDetector();
    for (const s of sealed.list()) {
      const { namespace, name, uid, generation } = s.metadata;
      records.set(s, secrets.get(name, namespace)?.digest ?? '');
      fights.written(namespace, name, `${uid}/${String(generation)}`, Date.now());
    }
    return { sealed, secrets, records, fights };
  } finally {
    await server.close();
  }
}

describe('the controller\'s heap per synced resource (sealed resource and Secret)', () => {
  let warm: Kept | undefined;
  beforeAll(async () => { warm = await fill(300); }, 60_000); // compiles what fill() runs: code is no resource's
  afterAll(() => { warm = undefined; });

  it(`stays under ${String(MAX_BYTES_PER_RESOURCE)} bytes over ${String(N)} resources: caches, sync records and fight state`, async () => {
    expect(warm?.records.size).toBe(300);
    let kept: Kept | undefined = await fill(N);
    expect(kept.sealed.list()).toHaveLength(N);
    expect(kept.secrets.list()).toHaveLength(N);
    expect([kept.records.size, kept.fights.size]).toEqual([N, N]);
    // what letting go of them frees: the garbage fill() left is collected in both measurements
    const withThem = await heapUsed();
    kept = undefined;
    const perResource = (withThem - await heapUsed()) / N;
    console.log(`heap per resource: ${perResource.toFixed(0)} bytes`);
    expect(perResource).toBeLessThan(MAX_BYTES_PER_RESOURCE);
  }, 180_000);
});
