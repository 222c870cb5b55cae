// Rows 3–6: one controller against its own fresh control plane.
//   3. cold start: N sealed resources (5 values each) already in the API
//      server; start the controller; time until every Secret exists
//      (repeated `controllerRuns` times: Secrets deleted and status cleared
//      between runs, so each run starts from the same state)
//   4. steady state: one periodic resync of the N (sealbox) / an equal idle
//      window (sealed-secrets has no periodic resync): API writes, RSA ops,
//      CPU seconds of the controller process
//   5. RSS right after each cold start
//   6. latency: one new sealed resource while N exist -> Secret created
// sealbox only: one more cold start with the API rate limit out of the way
// (`floorQps`), to compare with the floor of RSA-4096 private operations.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startControlPlane } from '../../test/cluster/control-plane.js';
import { BitnamiController, SealboxController } from '../lib/controllers.mjs';
import { SET_LABEL, secretStream } from '../lib/fixtures.mjs';
import { Kube, diffCounts, summarizeRequests } from '../lib/kube.mjs';
import { cpuSeconds, procStatus } from '../lib/proc.mjs';
import { summarize } from '../lib/stats.mjs';

const RESOURCES = ['secrets', 'sealedsecrets', 'events', 'leases', 'configmaps'];
const METRICS_POLL_MS = 1000;

/** Records when each Secret of one label set is first seen (watch). */
export async function secretTracker(kube, set) {
  const seen = new Map();
  const waiters = new Set();
  const w = await kube.watch(`/api/v1/secrets?labelSelector=${encodeURIComponent(`${SET_LABEL}=${set}`)}`, (type, obj, at) => {
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (seen.has(key)) return;
    seen.set(key, at);
    for (const x of waiters) x();
  });
  for (const o of w.items) seen.set(`${o.metadata.namespace}/${o.metadata.name}`, 0);
  const waitFor = (pred, ms) => new Promise((resolve) => {
    if (pred()) { resolve(true); return; }
    const check = () => { if (pred()) { waiters.delete(check); clearTimeout(t); resolve(true); } };
    const t = setTimeout(() => { waiters.delete(check); resolve(false); }, ms);
    waiters.add(check);
  });
  return { seen, waitFor, stop: w.stop };
}

/**
 * Runs rows 3–6 for one controller ('sealbox' | 'sealed-secrets').
 * @returns {Promise<object>} raw measurements
 */
export async function benchController(kind, o) {
  const { root, peers, runId, work, log } = o;
  const n = o.resources;
  const id = `bench-${runId}-${kind === 'sealbox' ? 'sbx' : 'ss'}`;
  const crdFiles = kind === 'sealbox' ? [join(root, 'crds/sealedsecrets.sealbox.dev.yaml')] : [peers.crd];
  log(`${kind}: starting a control plane (${id})`);
  const cp = await startControlPlane({ id, crdFiles, build: true, log: (m) => log(`  ${m}`) });
  const kube = new Kube(cp.kubeconfig);
  const ctl = kind === 'sealbox'
    ? new SealboxController({ root, cp, kube, work, qps: o.qps, burst: o.burst, resyncPeriod: o.resyncPeriod, log })
    : new BitnamiController({ peers, cp, kube, work, qps: o.qps, burst: o.burst, log });
  const out = { controller: kind, resources: n, qps: o.qps, burst: o.burst, cold: [] };
  try {
    await ctl.install();
    // the first start makes the sealing key; the benchmark starts from an installed controller
    let t = performance.now();
    await ctl.start('keygen');
    const pem = await ctl.cert();
    out.firstStartWithKeygenMs = performance.now() - t;
    await ctl.proc.stop();
    const certFile = join(work, `${kind}-cert.pem`);
    writeFileSync(certFile, pem);

    // fixtures: N for the cold start, `latencyTrials` more for the latency row
    const namespaces = Array.from({ length: o.namespaces }, (_, i) => `bench-${i}`);
    await Kube.pool(namespaces, 8, (ns) => kube.req('POST', '/api/v1/namespaces', { metadata: { name: ns } }, { ok: [201, 409] }));
    t = performance.now();
    const cold = ctl.seal(secretStream(namespaces, n, 's', 'cold'), certFile);
    const extra = ctl.seal(secretStream(namespaces, o.latencyTrials, 'lat', 'lat'), certFile);
    out.fixtureSealMs = performance.now() - t;
    if (cold.length !== n || extra.length !== o.latencyTrials) throw new Error(`${kind}: sealed ${cold.length}+${extra.length} documents, expected ${n}+${o.latencyTrials}`);
    t = performance.now();
    await kube.createAll(cold, (obj) => ctl.collection(obj.metadata.namespace), 16);
    out.fixtureCreateMs = performance.now() - t;
    log(`${kind}: ${n} sealed resources created in ${(out.fixtureCreateMs / 1000).toFixed(1)} s`);

    // rows 3 + 5: cold starts
    let proc;
    for (let r = 0; r < o.controllerRuns; r++) {
      if (r > 0) {
        await proc.stop();
        await reset(kube, ctl, namespaces, cold, []);
      }
      const res = await coldStart(kube, ctl, n, `run${r + 1}`, { ...o, cp }, log);
      proc = res.proc;
      out.cold.push(res.m);
    }

    // row 4: steady state
    const a = { cpu: cpuSeconds(proc.pid), api: await kube.requestCounts(), m: await ctl.metrics(), t: performance.now() };
    if (kind === 'sealbox') {
      // wait until the next periodic resync has passed over all N
      const end = Date.now() + (o.resyncPeriod + 120) * 1000;
      for (;;) {
        const m = await ctl.metrics();
        if (m !== undefined && m.unchanged >= a.m.unchanged + n) break;
        if (Date.now() > end) { out.steadyIncomplete = true; break; }
        await sleep(METRICS_POLL_MS);
      }
      await waitQuiet(ctl, (m) => m.reconciles, 1500);
    } else {
      // no periodic resync to wait for: an idle window as long as sealbox's,
      // its metrics scraped at the same rate as sealbox's were
      const end = performance.now() + (o.steadyWindowMs ?? o.resyncPeriod * 1000);
      while (performance.now() < end) {
        await ctl.metrics();
        await sleep(Math.min(METRICS_POLL_MS, Math.max(0, end - performance.now())));
      }
    }
    const b = { cpu: cpuSeconds(proc.pid), api: await kube.requestCounts(), m: await ctl.metrics(), t: performance.now() };
    const api = summarizeRequests(diffCounts(a.api, b.api), RESOURCES);
    out.steady = {
      windowMs: b.t - a.t,
      cpuSec: b.cpu - a.cpu,
      api,
      writesExceptLeases: Object.entries(api.byKey).filter(([k]) => !k.endsWith(' leases') && /^(POST|PUT|PATCH|DELETE|APPLY)/.test(k)).reduce((s, [, v]) => s + v, 0),
      ...(kind === 'sealbox'
        ? { rsaOps: b.m.rsaOps - a.m.rsaOps, ownWrites: b.m.apiWrites - a.m.apiWrites, ownWritesNoLease: b.m.apiWritesNoLease - a.m.apiWritesNoLease, reconciled: b.m.unchanged - a.m.unchanged }
        : { unsealRequests: b.m.unsealRequests - a.m.unsealRequests }),
    };
    log(`${kind}: steady window ${(out.steady.windowMs / 1000).toFixed(1)} s: ${out.steady.writesExceptLeases} writes (leases aside), ${out.steady.cpuSec.toFixed(2)} CPU s`);

    // row 6: latency, one new resource at a time
    const latTrack = await secretTracker(kube, 'lat');
    const lat = [];
    for (const obj of extra) {
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      const s = performance.now();
      await kube.req('POST', ctl.collection(obj.metadata.namespace), obj, { ok: [201] });
      const ok = await latTrack.waitFor(() => latTrack.seen.has(key), 60_000);
      lat.push(ok ? latTrack.seen.get(key) - s : NaN);
    }
    latTrack.stop();
    out.latencyMs = summarize(lat);
    out.latencyTimeouts = lat.filter((x) => Number.isNaN(x)).length;
    out.finalMetrics = await ctl.metrics();
    log(`${kind}: latency p50 ${out.latencyMs?.p50.toFixed(0)} ms, p99 ${out.latencyMs?.p99.toFixed(0)} ms`);

    // sealbox: one more cold start without the API rate limit, against the RSA floor
    if (kind === 'sealbox' && o.floorQps > 0) {
      await proc.stop();
      await reset(kube, ctl, namespaces, cold, extra);
      const res = await coldStart(kube, ctl, n, 'floor', { ...o, cp, qps: o.floorQps, burst: o.floorBurst }, log);
      proc = res.proc;
      out.floorRun = { ...res.m, qps: o.floorQps, burst: o.floorBurst };
    }
    return out;
  } finally {
    if (ctl instanceof BitnamiController) await ctl.stopAndClean();
    else await ctl.proc?.stop();
    kube.close();
    await cp.stop();
  }
}

/** Starts the controller and times it until every Secret of the cold set exists. */
async function coldStart(kube, ctl, n, tag, o, log) {
  const track = await secretTracker(kube, 'cold');
  if (track.seen.size !== 0) throw new Error(`${ctl.name}: ${track.seen.size} Secrets exist before the cold start`);
  const api0 = await kube.requestCounts();
  const cp0 = controlPlaneCpu(o.cp);
  const t0 = performance.now();
  const proc = await ctl.start(tag, { qps: o.qps, burst: o.burst });
  const done = await track.waitFor(() => track.seen.size >= n, o.coldTimeoutMs);
  const tDone = done ? Math.max(...track.seen.values()) : performance.now();
  const m = {
    complete: done, secrets: track.seen.size, ms: tDone - t0,
    cpuSec: cpuSeconds(proc.pid), rssKb: procStatus(proc.pid)?.rssKb, hwmKb: procStatus(proc.pid)?.hwmKb,
  };
  // what the API server and etcd spent meanwhile (they share the machine's cores)
  const cp1 = controlPlaneCpu(o.cp);
  m.controlPlaneCpuSec = Object.fromEntries(Object.keys(cp1).map((k) => [k, cp1[k] - (cp0[k] ?? 0)]));
  track.stop();
  log(`${ctl.name}: cold start (${tag}, QPS ${o.qps}/${o.burst}) ${done ? '' : 'NOT complete '}${(m.ms / 1000).toFixed(1)} s (${m.secrets}/${n}), ${m.cpuSec} CPU s, RSS ${Math.round(m.rssKb / 1024)} MiB`);
  // let the tail (status updates, events) finish
  if (ctl.name === 'sealbox') await waitQuiet(ctl, (x) => x.reconciles >= n ? x.apiRequests : undefined, 1500);
  else await waitQuiet(ctl, (x) => x.unsealRequests >= n ? x.unsealRequests : undefined, 2000);
  m.metrics = await ctl.metrics();
  m.api = summarizeRequests(diffCounts(api0, await kube.requestCounts()), RESOURCES);
  m.cpuSecAfterTail = cpuSeconds(proc.pid);
  return { proc, m };
}

/** CPU seconds so far of the control plane's etcd and kube-apiserver. */
export function controlPlaneCpu(cp) {
  const out = {};
  for (const name of ['etcd', 'kube-apiserver']) {
    const pid = cp?.pids?.[name];
    const v = pid === undefined ? undefined : cpuSeconds(pid);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Waits until `value(metrics)` is defined and has not changed for `quietMs` (at most `maxMs`, 2 min). */
export async function waitQuiet(ctl, value, quietMs, maxMs = 120_000) {
  const end = Date.now() + maxMs;
  let last;
  let since = Date.now();
  while (Date.now() < end) {
    const m = await ctl.metrics();
    const v = m === undefined ? undefined : value(m);
    if (v !== last) { last = v; since = Date.now(); }
    if (v !== undefined && Date.now() - since >= quietMs) return;
    await sleep(250);
  }
}

/**
 * Back to the state before a cold start, with the controller stopped: the
 * cold set's Secrets deleted (and gone), their sealed resources' status
 * cleared, the given extra sealed resources deleted.
 */
async function reset(kube, ctl, namespaces, cold, extraToDelete) {
  await Kube.pool(extraToDelete, 16, (obj) => kube.req('DELETE', `${ctl.collection(obj.metadata.namespace)}/${obj.metadata.name}`, undefined, { ok: [200, 202, 404] }));
  await clearColdSet(kube, ctl, namespaces, cold.map((obj) => [obj.metadata.namespace, obj.metadata.name]), 16);
}

/**
 * Deletes the cold set's Secrets in `namespaces`, clears the status of the
 * sealed resources named by `names` ([namespace, name] pairs), and waits
 * until the Secrets are gone.
 */
export async function clearColdSet(kube, ctl, namespaces, names, concurrency) {
  const sel = encodeURIComponent(`${SET_LABEL}=cold`);
  await Kube.pool(namespaces, 8, (ns) => kube.req('DELETE', `/api/v1/namespaces/${ns}/secrets?labelSelector=${sel}`, undefined, { ok: [200] }));
  await Kube.pool(names, concurrency, ([ns, name]) => kube.req('PATCH', `${ctl.collection(ns)}/${name}/status`, { status: null },
    { contentType: 'application/merge-patch+json', ok: [200] }));
  for (let i = 0; i < 600; i++) {
    const list = await kube.req('GET', `/api/v1/secrets?labelSelector=${sel}&limit=1`, undefined, { ok: [200] });
    if (list.body.items.length === 0) return;
    await sleep(100);
  }
  throw new Error('Secrets of the cold set are still there 60 s after deletion');
}
