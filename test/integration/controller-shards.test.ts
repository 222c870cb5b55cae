// Sharded replicas (issue 17 §2) on the real control plane, with deploy/'s
// token: two replicas with --shards 2 and twelve watched namespaces. One test
// per guarantee, in order: no resource is written by two replicas; killing a
// replica hands its shard over within the lease duration; starting it again
// rebalances without writing any Secret (or status); key rotation has one
// writer; and a cold start of two replicas unseals each resource once, on
// its shard's replica. Each replica says which shards it holds in
// sealbox_shard_held.
import { describe, expect, it } from 'vitest';
import { eventually, kubeconfigPath } from '../cluster/helpers.js';
import { ok, sealboxAsync } from '../helpers/cli.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { ControllerProcess } from '../controller/process.js';
import { createSealed, fetchCert, getSealed, listSealed, readSecret, readyCondition, seal, secretText, waitForReady, waitForSecret } from '../controller/sealed.js';
import { shardOf } from '../../src/controller/shards.js';

const SHARDS = 2;
const LEASE_MS = 4000; // --lease-duration in the harness
const PER_NAMESPACE = 2;
/** Sealed resources created while no replica runs, for the cold-start test. */
const COLD = 100;
const env = useController({ prefix: 'ctl-shard', replicas: 0, watchedNamespaces: 12, extraArgs: ['--shards', String(SHARDS)] });

/** Replica k runs with --shard k. */
const replicas: ControllerProcess[] = [];

async function heldBy(c: ControllerProcess): Promise<number[]> {
  const text = await scrape(c.url);
  return Array.from({ length: SHARDS }, (_, s) => s).filter((s) => metricValue(text, 'sealbox_shard_held', (l) => l.shard === String(s)) === 1);
}

/** Resolves once each live replica holds exactly the shards given for it. */
async function waitForShards(want: ReadonlyMap<ControllerProcess, readonly number[]>, timeoutMs = 30_000): Promise<void> {
  await eventually(`shards held as ${JSON.stringify([...want].map(([c, s]) => [c.name, s]))}`, async () => {
    for (const [c, shards] of want) if (JSON.stringify(await heldBy(c)) !== JSON.stringify(shards)) return undefined;
    return true;
  }, timeoutMs, 100);
}

/** Namespace and name of each Secret a replica's log says it created or updated. */
function writesOf(c: ControllerProcess): { namespace: string; name: string; result: string }[] {
  return c.logRecords().filter((r) => r.msg === 'secret synced').map((r) => ({ namespace: String(r.namespace), name: String(r.name), result: String(r.result) }));
}

/** The resourceVersion of every Secret the test created, by "namespace/name". */
async function secretVersions(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const ns of env.namespaces) {
    for (let i = 0; i < PER_NAMESPACE; i++) {
      const s = await readSecret(ns, `s${String(i)}`);
      out.set(`${ns}/s${String(i)}`, `${s?.metadata?.uid ?? 'missing'}@${s?.metadata?.resourceVersion ?? ''}`);
    }
  }
  return out;
}

/** RSA private-key operations a replica has made (each unseal of a resource sealed to the cluster key is one). */
async function rsaOps(c: ControllerProcess): Promise<number> {
  return metricValue(await scrape(c.url), 'sealbox_rsa_private_operations_total');
}

const secretWrites = (l: Readonly<Record<string, string>>): boolean => l.resource === 'secrets' && ['create', 'update', 'delete'].includes(l.verb ?? '');

describe('two sharded replicas', () => {
  it('write each resource from one replica only: the holder of its namespace\'s shard', async () => {
    replicas.push(...await Promise.all([0, 1].map((k) => env.startReplica(`shard-${String(k)}`, ['--shard', String(k)]))));
    const [r0, r1] = replicas as [ControllerProcess, ControllerProcess];
    await waitForShards(new Map([[r0, [0]], [r1, [1]]]));
    // shard 0's holder generates the first key; both replicas load it and serve it
    const cert = await eventually('both replicas to serve the first certificate', async () => {
      const [a, b] = await Promise.all([r0, r1].map(async (c) => (await fetch(`${c.url}/v1/cert.pem`)).status === 200 ? fetchCert(c.url) : undefined));
      return a !== undefined && a === b ? a : undefined;
    }, 60_000);
    for (const ns of env.namespaces) {
      for (let i = 0; i < PER_NAMESPACE; i++) await createSealed(ns, await seal(cert, { name: `s${String(i)}`, namespace: ns, data: { v: `${ns}-${String(i)}` } }));
    }
    for (const ns of env.namespaces) {
      for (let i = 0; i < PER_NAMESPACE; i++) {
        const o = await waitForReady(ns, `s${String(i)}`, 'True', 60_000);
        expect(readyCondition(o)?.message).toBe(`the secret matches the sealed resource (shard ${String(shardOf(ns, SHARDS))} of ${String(SHARDS)})`);
        expect(secretText(await waitForSecret(ns, `s${String(i)}`))).toEqual({ v: `${ns}-${String(i)}` });
      }
    }
    const byShard = [writesOf(r0), writesOf(r1)];
    for (const [k, writes] of byShard.entries()) {
      // every write of replica k is in a namespace of shard k, and is the Secret's one create
      expect(writes.filter((w) => shardOf(w.namespace, SHARDS) !== k)).toEqual([]);
      expect(writes.filter((w) => w.result !== 'created')).toEqual([]);
      const want = env.namespaces.filter((ns) => shardOf(ns, SHARDS) === k).length * PER_NAMESPACE;
      expect(writes).toHaveLength(want);
      const replica = replicas[k];
      if (replica === undefined) throw new Error(`no replica ${String(k)}`);
      const text = await scrape(replica.url);
      // the Secret writes it counts are these creates, and the sealing key if it generated it
      const keys = replica.logRecords().filter((r) => r.msg === 'generated a new sealing key').length;
      expect(metricValue(text, 'sealbox_api_requests_total', secretWrites)).toBe(want + keys);
      expect(metricValue(text, 'sealbox_reconciles_total', (l) => l.result === 'failed')).toBe(0);
    }
    // key management: only shard 0's holder leads it
    expect([metricValue(await scrape(r0.url), 'sealbox_leader'), metricValue(await scrape(r1.url), 'sealbox_leader')]).toEqual([1, 0]);
  }, 120_000);

  it('hands a killed replica\'s shard to the other within the lease duration', async () => {
    const [r0, r1] = replicas as [ControllerProcess, ControllerProcess];
    // kill the holder of the first namespace's shard (shard 0 holds key management too)
    const ns = env.namespace;
    const [victim, survivor] = shardOf(ns, SHARDS) === 0 ? [r0, r1] : [r1, r0];
    const cert = await fetchCert(survivor.url);
    const before = await secretVersions();
    const pending = await seal(cert, { name: 'after-kill', namespace: ns, data: { v: 'written by the survivor' } });
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    await createSealed(ns, pending);
    const created = await waitForSecret(ns, 'after-kill', () => true, LEASE_MS + 15_000, 50);
    const elapsed = Date.now() - killedAt;
    expect(secretText(created)).toEqual({ v: 'written by the survivor' });
    expect(elapsed, `secret appeared ${String(elapsed)} ms after the kill`).toBeLessThanOrEqual(LEASE_MS + 5000);
    await waitForShards(new Map([[survivor, [0, 1]]]), 10_000);
    // its 'secret synced' line follows the status write, so it may trail the Secret itself
    const wrote = await eventually('the survivor to log its write', () => {
      const w = writesOf(survivor).filter((r) => r.name === 'after-kill');
      return Promise.resolve(w.length > 0 ? w : undefined);
    }, 10_000);
    expect(wrote).toEqual([{ namespace: ns, name: 'after-kill', result: 'created' }]);
    // the survivor re-checks the shard it gained and rewrites none of its Secrets
    const gained = env.namespaces.filter((n) => shardOf(n, SHARDS) === shardOf(ns, SHARDS)).length * PER_NAMESPACE;
    await eventually('the survivor to re-check the resources of the shard it gained', async () =>
      metricValue(await scrape(survivor.url), 'sealbox_reconciles_total', (l) => l.result === 'unchanged') >= gained ? true : undefined, 30_000);
    expect(await secretVersions()).toEqual(before);
  }, 60_000);

  it('rebalances to a replica started again without deleting or rewriting any Secret', async () => {
    const dead = replicas.findIndex((c) => !c.alive());
    const survivor = replicas.find((c) => c.alive());
    if (survivor === undefined || dead < 0) throw new Error('the previous test did not leave one live replica');
    const before = await secretVersions();
    const handedBefore = survivor.logRecords().filter((r) => r.msg === 'shard handed over').length;
    const statusVersions = await Promise.all(env.namespaces.map(async (ns) => (await getSealed(ns, 's0')).metadata.resourceVersion));
    const back = await env.startReplica(`shard-${String(dead)}-again`, ['--shard', String(dead)]);
    replicas[dead] = back;
    await waitForShards(new Map([[back, [dead]], [survivor, [1 - dead]]]));
    const mine = env.namespaces.filter((ns) => shardOf(ns, SHARDS) === dead).length * PER_NAMESPACE + (shardOf(env.namespace, SHARDS) === dead ? 1 : 0);
    await eventually('the new holder to check its shard\'s resources', async () =>
      metricValue(await scrape(back.url), 'sealbox_reconciles_total', (l) => l.result === 'unchanged') >= mine ? true : undefined, 30_000);
    const text = await scrape(back.url);
    expect(metricValue(text, 'sealbox_reconciles_total', (l) => l.result !== 'unchanged')).toBe(0);
    expect(metricValue(text, 'sealbox_api_requests_total', secretWrites)).toBe(0);
    expect(metricValue(text, 'sealbox_api_requests_total', (l) => l.resource === 'sealedsecrets/status')).toBe(0);
    expect(await secretVersions()).toEqual(before);
    expect(await Promise.all(env.namespaces.map(async (ns) => (await getSealed(ns, 's0')).metadata.resourceVersion))).toEqual(statusVersions);
    const handed = survivor.logRecords().filter((r) => r.msg === 'shard handed over').slice(handedBefore);
    expect(handed.map((r) => r.shard)).toEqual([dead]);
  }, 60_000);

  it('lets only the holder of shard 0 create sealing keys, also on a rotation request', async () => {
    const keyLead = await eventually('one replica to lead key management', async () => {
      const flags = await Promise.all(replicas.map(async (c) => metricValue(await scrape(c.url), 'sealbox_leader')));
      return flags.filter((f) => f === 1).length === 1 ? replicas[flags.indexOf(1)] : undefined;
    }, 10_000);
    const keysBefore = (await (await fetch(`${keyLead.url}/v1/keys`)).json()) as unknown[];
    ok(await sealboxAsync(['keys', 'rotate', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]));
    for (const c of replicas) {
      await eventually(`${c.name} to load the new key`, async () => {
        const keys = (await (await fetch(`${c.url}/v1/keys`)).json()) as unknown[];
        return keys.length === keysBefore.length + 1 ? true : undefined;
      }, 30_000);
    }
    // a few more key checks (every second) must not add another key
    await new Promise((r) => setTimeout(r, 3000));
    // one key per occasion, from whichever replica held shard 0 then (the key lead, unless
    // generating the key stalled it past its renew deadline: then it wrote nothing)
    const all = env.controllers.flatMap((c) => c.logRecords().filter((r) => r.msg === 'generated a new sealing key'));
    expect(all.map((r) => r.why).sort()).toEqual(['first start', 'requested']);
    expect(((await (await fetch(`${keyLead.url}/v1/keys`)).json()) as unknown[]).length).toBe(keysBefore.length + 1);
  }, 60_000);

  it('unseals each resource once at a cold start, on its shard\'s replica only, though one replica is up before the other', async () => {
    const up = replicas.find((c) => c.alive());
    if (up === undefined) throw new Error('the previous tests left no live replica');
    const cert = await fetchCert(up.url);
    // stopped gracefully, the replicas release their Leases: free for whoever comes first
    await Promise.all(replicas.map((c) => c.kill('SIGTERM')));
    const created = [0, 0]; // new resources per shard
    const coldNamespaces = Array.from({ length: COLD }, (_, i) => env.namespaces[i % env.namespaces.length] ?? env.namespace);
    for (const ns of coldNamespaces) created[shardOf(ns, SHARDS)] = (created[shardOf(ns, SHARDS)] ?? 0) + 1;
    for (let i = 0; i < COLD; i += 20) {
      await Promise.all(coldNamespaces.slice(i, i + 20).map(async (ns, j) =>
        createSealed(ns, await seal(cert, { name: `cold-${String(i + j)}`, namespace: ns, data: { v: String(i + j) } }))));
    }
    const perShard = [0, 0]; // all resources per shard, the earlier tests' too
    for (const ns of env.namespaces) {
      const k = shardOf(ns, SHARDS);
      perShard[k] = (perShard[k] ?? 0) + (await listSealed(ns)).length;
    }
    // A StatefulSet starts its pods in parallel, yet one is up first: here replica 1 starts once
    // replica 0 already reconciles (is ready), well within the lease duration of replica 0's start.
    const lease = ['--lease-duration', '15s', '--renew-deadline', '10s'];
    const r0 = await env.startReplica('cold-0', ['--shard', '0', ...lease]);
    await eventually('replica 0 to be ready', async () => ((await fetch(`${r0.url}/readyz`)).status === 200 ? true : undefined), 30_000, 100);
    const r1 = await env.startReplica('cold-1', ['--shard', '1', ...lease]);
    const cold = [r0, r1];
    await eventually('both replicas to create every new Secret', () =>
      Promise.resolve(cold.flatMap((c) => writesOf(c)).length >= COLD ? true : undefined), 60_000, 200);
    await waitForShards(new Map([[r0, [0]], [r1, [1]]]));
    // a few retry periods more: a stray unseal would show by now
    await new Promise((r) => setTimeout(r, 2000));
    const ops = await Promise.all(cold.map((c) => rsaOps(c)));
    const acquired = cold.map((c) => c.logRecords().filter((r) => r.msg === 'shard acquired').map((r) => r.shard));
    const why = `RSA operations per replica ${JSON.stringify(ops)} for ${JSON.stringify(perShard)} resources per shard; shards acquired per replica ${JSON.stringify(acquired)}`;
    expect(ops.reduce((a, b) => a + b, 0), why).toBe(perShard.reduce((a, b) => a + b, 0));
    for (const [k, c] of cold.entries()) {
      // each resource of shard k unsealed once, by shard k's replica; it created shard k's new Secrets and no other
      expect(ops[k], why).toBe(perShard[k]);
      const writes = writesOf(c);
      expect(writes.filter((w) => shardOf(w.namespace, SHARDS) !== k || w.result !== 'created')).toEqual([]);
      expect(writes).toHaveLength(created[k] ?? -1);
      expect(metricValue(await scrape(c.url), 'sealbox_reconciles_total', (l) => l.result === 'failed')).toBe(0);
    }
  }, 120_000);
});
