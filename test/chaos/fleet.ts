// Many sealed resources at once, for fault tests: sealing in-process
// (src/format, no CLI), creating and updating them through the API with
// retries (so the test's own writes survive an API server restart), a watch
// that records every version of every Secret, and a final check that every
// Secret is exactly what Git says.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import type { KeyWrapper } from '../../src/crypto/types.js';
import type { SealedObject } from '../controller/sealed.js';
import { SEALED, seal } from '../controller/sealed.js';

/** One sealed resource of a fleet at one generation of its values. */
export interface FleetItem {
  readonly name: string;
  /** the plaintext Git holds for it */
  readonly data: Readonly<Record<string, string>>;
  readonly manifest: SealedObject;
}

/** Names fleet-0000 … fleet-NNNN. */
export const fleetName = (i: number): string => `fleet-${String(i).padStart(4, '0')}`;

/**
 * Seals `count` resources for `recipient` in `namespace`, each with one value
 * that names the resource and the generation, so a Secret holding another
 * resource's or another generation's value is caught.
 */
export async function sealFleet(recipient: KeyWrapper, namespace: string, count: number, generation: string, from = 0): Promise<FleetItem[]> {
  const out: FleetItem[] = [];
  for (let i = from; i < from + count; i++) {
    const name = fleetName(i);
    const data = { value: `${generation}-${name}-${randomBytes(6).toString('hex')}` };
    out.push({ name, data, manifest: await seal([recipient], { name, namespace, data, labels: { fleet: 'chaos' } }) });
  }
  return out;
}

/** Retries `f` on errors that a fault causes (unreachable, 5xx, 409, 429) until `timeoutMs` passes. */
export async function retrying<T>(what: string, f: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await f();
    } catch (err) {
      const code = err instanceof k8s.ApiException ? (err as k8s.ApiException<unknown>).code : 0;
      const transient = code === 0 || code === 409 || code === 429 || code >= 500;
      if (!transient || Date.now() > deadline) throw new Error(`${what}: ${err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)}`, { cause: err });
      await sleep(delay);
    }
  }
}

/** Runs `f` over `items` with at most `concurrency` at a time. */
export async function forEachLimit<T>(items: readonly T[], concurrency: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await f(item);
    }
  }));
}

/**
 * Creates each resource, or replaces the spec of an existing one, with
 * retries. Resolves when every write was accepted.
 */
export async function applyFleet(kc: k8s.KubeConfig, namespace: string, items: readonly FleetItem[], concurrency = 8): Promise<void> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  await forEachLimit(items, concurrency, async (item) => {
    await retrying(`apply ${namespace}/${item.name}`, async () => {
      let current: SealedObject | undefined;
      try {
        current = (await api.getNamespacedCustomObject({ ...SEALED, namespace, name: item.name })) as SealedObject;
      } catch (err) {
        if (!(err instanceof k8s.ApiException && (err as k8s.ApiException<unknown>).code === 404)) throw err;
      }
      if (current === undefined) {
        await api.createNamespacedCustomObject({ ...SEALED, namespace, body: { ...item.manifest, metadata: { ...item.manifest.metadata, namespace } } });
      } else {
        await api.replaceNamespacedCustomObject({ ...SEALED, namespace, name: item.name, body: { ...current, spec: item.manifest.spec } });
      }
    });
  });
}

/** Every version of every Secret of a namespace a watch delivered. */
export interface SecretRecorder {
  /** data (decoded) of each ADDED/MODIFIED event, by Secret name, in order */
  readonly versions: ReadonlyMap<string, readonly Readonly<Record<string, string>>[]>;
  /** uids seen per Secret name (more than one: it was deleted and created again) */
  readonly uids: ReadonlyMap<string, ReadonlySet<string>>;
  /** names of Secrets seen DELETED */
  readonly deleted: readonly string[];
  /** how often the watch had to be restarted (API server or etcd restarts) */
  readonly restarts: number;
  /** the newest data of each Secret */
  latest(name: string): Readonly<Record<string, string>> | undefined;
  stop(): void;
}

const decode = (s: k8s.V1Secret): Record<string, string> =>
  Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/**
 * Watches the Secrets of `namespace` from now on and records every version.
 * The watch restarts by itself from its last resourceVersion (re-listing on
 * 410 Gone), so it survives API server and etcd restarts.
 */
export async function recordSecrets(kc: k8s.KubeConfig, namespace: string): Promise<SecretRecorder> {
  const versions = new Map<string, Record<string, string>[]>();
  const uids = new Map<string, Set<string>>();
  const deleted: string[] = [];
  const state = { rv: '', stopped: false, restarts: 0, req: undefined as AbortController | undefined };
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const see = (s: k8s.V1Secret): void => {
    const name = s.metadata?.name ?? '';
    versions.set(name, [...(versions.get(name) ?? []), decode(s)]);
    uids.set(name, new Set([...(uids.get(name) ?? []), s.metadata?.uid ?? '']));
  };
  const list = async (): Promise<void> => {
    const l = await retrying(`list secrets in ${namespace}`, () => core.listNamespacedSecret({ namespace }));
    for (const s of l.items) {
      const name = s.metadata?.name ?? '';
      const last = versions.get(name)?.at(-1);
      if (last === undefined || JSON.stringify(last) !== JSON.stringify(decode(s))) see(s);
    }
    state.rv = l.metadata?.resourceVersion ?? '';
  };
  const watch = async (): Promise<void> => {
    if (state.stopped) return;
    const restart = (err: unknown): void => {
      if (state.stopped) return;
      state.restarts++;
      const gone = (err as { statusCode?: number } | null)?.statusCode === 410;
      setTimeout(() => {
        (gone ? list() : Promise.resolve()).then(watch, () => { setTimeout(() => void watch(), 500); });
      }, 300);
    };
    try {
      state.req = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${namespace}/secrets`, { resourceVersion: state.rv, allowWatchBookmarks: true }, (type: string, s: k8s.V1Secret) => {
        state.rv = s.metadata?.resourceVersion ?? state.rv;
        if (type === 'ERROR') {
          state.rv = '';
          return;
        }
        if (type === 'ADDED' || type === 'MODIFIED') see(s);
        if (type === 'DELETED') deleted.push(s.metadata?.name ?? '');
      }, (err: unknown) => {
        if (state.rv === '') void list().then(() => { restart(null); }, restart);
        else restart(err);
      });
    } catch (err) {
      restart(err);
    }
  };
  await list();
  await watch();
  return {
    versions, uids, deleted,
    get restarts() { return state.restarts; },
    latest: (name) => versions.get(name)?.at(-1),
    stop: () => {
      state.stopped = true;
      state.req?.abort();
    },
  };
}

/** How many of `items` the recorder has seen with exactly their data. */
export function convergedCount(rec: SecretRecorder, items: readonly FleetItem[]): number {
  return items.filter((i) => JSON.stringify(rec.latest(i.name)) === JSON.stringify(i.data)).length;
}

/**
 * Waits until every item's Secret holds its data (by the recorder), polling;
 * resolves with the time it took.
 * @throws {Error} listing a few stragglers when `timeoutMs` passes
 */
export async function waitConverged(rec: SecretRecorder, items: readonly FleetItem[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const n = convergedCount(rec, items);
    if (n === items.length) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      const late = items.filter((i) => JSON.stringify(rec.latest(i.name)) !== JSON.stringify(i.data)).slice(0, 5).map((i) => i.name);
      throw new Error(`only ${n} of ${items.length} Secrets converged in ${timeoutMs / 1000} s; e.g. ${late.join(', ')}`);
    }
    await sleep(250);
  }
}

/** Resolves once at least `n` items have converged (to inject a fault mid-run). */
export async function waitForProgress(rec: SecretRecorder, items: readonly FleetItem[], n: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = convergedCount(rec, items);
    if (done >= n) return done;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${items.length} Secrets converged; wanted ${n} before injecting the fault`);
    await sleep(50);
  }
}

/**
 * Reads every Secret and sealed resource of `namespace` from the API server
 * and returns the problems: a missing, extra or wrong Secret, one not owned
 * (exactly once, as controller) by its sealed resource, a sealed resource not
 * Ready for its generation. An empty list means the namespace matches Git.
 */
export async function auditNamespace(kc: k8s.KubeConfig, namespace: string, items: readonly FleetItem[]): Promise<string[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const secrets = (await retrying('list secrets', () => core.listNamespacedSecret({ namespace }))).items;
  const sealed = ((await retrying('list sealed', () => custom.listNamespacedCustomObject({ ...SEALED, namespace }))) as { items: SealedObject[] }).items;
  const byName = new Map(secrets.map((s) => [s.metadata?.name ?? '', s]));
  const uidOf = new Map(sealed.map((s) => [s.metadata.name, s.metadata.uid ?? '']));
  const problems: string[] = [];
  for (const item of items) {
    const s = byName.get(item.name);
    if (s === undefined) {
      problems.push(`${item.name}: no Secret`);
      continue;
    }
    if (JSON.stringify(decode(s)) !== JSON.stringify(item.data)) problems.push(`${item.name}: wrong data`);
    const owners = (s.metadata?.ownerReferences ?? []).filter((r) => r.controller === true);
    if (owners.length !== 1 || owners[0]?.uid !== uidOf.get(item.name)) problems.push(`${item.name}: owner references ${JSON.stringify(owners.map((r) => r.uid))}`);
  }
  const expected = new Set(items.map((i) => i.name));
  for (const name of byName.keys()) if (!expected.has(name)) problems.push(`${name}: a Secret Git does not have`);
  for (const s of sealed) {
    if (!expected.has(s.metadata.name)) continue;
    const ready = s.status?.conditions?.find((c) => c.type === 'Ready');
    if (s.status?.observedGeneration !== s.metadata.generation || ready?.status !== 'True') {
      problems.push(`${s.metadata.name}: status ${JSON.stringify({ observed: s.status?.observedGeneration, generation: s.metadata.generation, ready: ready?.status, reason: ready?.reason })}`);
    }
  }
  return problems;
}

/**
 * Returns the Secret versions the recorder saw that Git never held: data
 * that is neither one of the item's generations nor empty. A controller that
 * wrote another resource's value, a stale generation after a newer one, or
 * garbage shows up here.
 */
export function foreignVersions(rec: SecretRecorder, generations: readonly (readonly FleetItem[])[]): string[] {
  const allowed = new Map<string, string[]>();
  for (const gen of generations) for (const i of gen) allowed.set(i.name, [...(allowed.get(i.name) ?? []), JSON.stringify(i.data)]);
  const out: string[] = [];
  for (const [name, seen] of rec.versions) {
    const ok = allowed.get(name) ?? [];
    let newest = -1;
    for (const v of seen) {
      const at = ok.indexOf(JSON.stringify(v));
      if (at < 0) out.push(`${name}: data Git never held`);
      // a generation older than one already written is a rollback by the controller
      else if (at < newest) out.push(`${name}: generation ${at + 1} written after generation ${newest + 1}`);
      newest = Math.max(newest, at);
    }
  }
  return out;
}
