// bench:scale, one size for one controller against its own fresh control
// plane (see bench/scale.mjs):
//   - fixtures: N Secrets (5 values each) sealed by the tool's own CLI, one
//     resource at a time (each its own data key: no shortcut through the
//     controller's data-key cache), in chunks by parallel processes, and
//     created through the API server on keep-alive connections;
//   - cold start: start the controller, time until every Secret exists (a
//     watch) and until every status is Ready (paged lists after that);
//     controller CPU, peak (VmHWM) and current RSS, API requests
//     (apiserver_request_total), RSA operations;
//   - steady state (sealbox): one periodic resync over all N;
//   - sealbox with `--shards S`: the same cold start again with S replicas,
//     the Secrets deleted and the status cleared first; per-shard RSA ops.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { startControlPlane } from '../../test/cluster/control-plane.js';
import { BitnamiController, SealboxController } from '../lib/controllers.mjs';
import { secretStream } from '../lib/fixtures.mjs';
import { Kube, diffCounts, summarizeRequests } from '../lib/kube.mjs';
import { cpuSeconds, procStatus, runAsync } from '../lib/proc.mjs';
import { clearColdSet, controlPlaneCpu, secretTracker, waitQuiet } from './controller.mjs';

const RESOURCES = ['secrets', 'sealedsecrets', 'events'];
const CHUNK = 2000;

/** Retries `fn` on a dropped connection (a keep-alive socket the server closed) or a 429/5xx, up to 5 times. */
async function retrying(fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const transient = /socket hang up|ECONNRESET|EPIPE|timed out|HTTP (429|5\d\d)/.test(String(err?.message));
      if (!transient || attempt >= 5) throw err;
      await sleep(200 * attempt);
    }
  }
}

/**
 * Seals `n` Secrets with the controller's CLI in chunks (two processes at a
 * time) and creates them as each chunk is sealed.
 */
async function createFixtures(kube, ctl, namespaces, n, certFile) {
  const chunks = [];
  for (let from = 0; from < n; from += CHUNK) chunks.push({ from, count: Math.min(CHUNK, n - from) });
  const c = ctl.sealCommand(certFile);
  let created = 0;
  await Kube.pool(chunks, 2, async ({ from, count }) => {
    const out = await runAsync(c.cmd, c.args, { input: secretStream(namespaces, count, 's', 'cold', from), env: c.env });
    const docs = parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
    if (docs.length !== count) throw new Error(`${ctl.name}: sealed ${docs.length} documents, expected ${count}`);
    await Kube.pool(docs, 16, (obj) => retrying(() => kube.req('POST', ctl.collection(obj.metadata.namespace), obj, { ok: [201, 409] })));
    created += count;
  });
  return created;
}

/** Counts the sealed resources whose status says they are synced (sealbox: Ready for their generation; sealed-secrets: Synced). */
async function countReady(kube, ctl) {
  const path = `/apis/${ctl.group}/${ctl.version}/sealedsecrets`;
  let ready = 0;
  let cont = '';
  do {
    const page = (await kube.req('GET', `${path}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, undefined, { ok: [200] })).body;
    for (const s of page.items) {
      const conds = s.status?.conditions ?? [];
      const ok = ctl.name === 'sealbox'
        ? conds.some((c) => c.type === 'Ready' && c.status === 'True') && s.status?.observedGeneration === s.metadata.generation
        : conds.some((c) => c.type === 'Synced' && c.status === 'True');
      if (ok) ready++;
    }
    cont = page.metadata.continue ?? '';
  } while (cont);
  return ready;
}

/** Resolves when `pred()` holds (checked every `ms`), or false once a process exits or `deadline` passes. */
async function pollUntil(pred, procs, deadline, ms) {
  for (;;) {
    if (await pred()) return true;
    if (procs.some((p) => p.exitCode !== null) || Date.now() > deadline) return false;
    await sleep(ms);
  }
}

/**
 * Starts the controller(s) (`starts`: functions returning a running Proc and
 * the controller object to read metrics from) and measures one cold start.
 */
async function coldStart(kube, n, starts, o) {
  const track = await secretTracker(kube, 'cold');
  if (track.seen.size !== 0) throw new Error(`${track.seen.size} Secrets exist before the cold start`);
  const api0 = await kube.requestCounts();
  const cp0 = controlPlaneCpu(o.cp);
  const t0 = performance.now();
  const deadline = Date.now() + o.coldTimeoutMs;
  const running = [];
  for (const start of starts) running.push(await start());
  const procs = running.map((r) => r.proc);
  const exited = Promise.race(procs.map((p) => p.exited)).then(() => false);
  const allSecrets = await Promise.race([track.waitFor(() => track.seen.size >= n, o.coldTimeoutMs), exited]);
  const secretsMs = (allSecrets ? Math.max(...track.seen.values()) : performance.now()) - t0;
  const cpuAtSecrets = procs.map((p) => cpuSeconds(p.pid));
  track.stop();
  const allReady = allSecrets && await pollUntil(async () => (await countReady(kube, running[0].ctl)) >= n, procs, deadline, 2000);
  const readyMs = performance.now() - t0;
  const cp1 = controlPlaneCpu(o.cp);
  const m = {
    complete: allSecrets && allReady, secrets: track.seen.size, secretsMs, readyMs: allReady ? readyMs : null,
    cpuSecAtSecrets: cpuAtSecrets, cpuSec: procs.map((p) => cpuSeconds(p.pid)),
    hwmKb: procs.map((p) => procStatus(p.pid)?.hwmKb), rssKb: procs.map((p) => procStatus(p.pid)?.rssKb),
    controlPlaneCpuSec: Object.fromEntries(Object.keys(cp1).map((k) => [k, cp1[k] - (cp0[k] ?? 0)])),
    exitCodes: procs.map((p) => p.exitCode),
  };
  if (running[0].ctl.name === 'sealbox' && m.complete) {
    for (const r of running) await waitQuiet(r.ctl, (x) => x.apiRequests, 1500, 30_000);
  }
  m.metrics = await Promise.all(running.map((r) => r.ctl.metrics()));
  m.api = summarizeRequests(diffCounts(api0, await kube.requestCounts()), RESOURCES);
  o.log(`${running[0].ctl.name}${starts.length > 1 ? ` ×${starts.length}` : ''}: cold start of ${n} ${m.complete ? '' : 'NOT complete '}` +
    `Secrets ${(secretsMs / 1000).toFixed(1)} s, Ready ${allReady ? (readyMs / 1000).toFixed(1) : '—'} s, CPU ${m.cpuSec.map((x) => x?.toFixed(0)).join('+')} s, ` +
    `peak RSS ${m.hwmKb.map((x) => Math.round((x ?? NaN) / 1024)).join('/')} MiB`);
  return { running, m };
}

/** sealbox: one periodic resync over all `n` after the cold start: CPU, writes, RSA ops, settled RSS. */
async function steady(kube, ctl, proc, n, o) {
  const a = { cpu: cpuSeconds(proc.pid), api: await kube.requestCounts(), m: await ctl.metrics(), t: performance.now() };
  const end = Date.now() + (o.resyncPeriod * 2 + 300) * 1000;
  let incomplete = false;
  for (;;) {
    const m = await ctl.metrics();
    if (m !== undefined && m.unchanged >= a.m.unchanged + n) break;
    if (Date.now() > end || proc.exitCode !== null) { incomplete = true; break; }
    await sleep(1000);
  }
  await waitQuiet(ctl, (m) => m.reconciles, 1500, 60_000);
  const b = { cpu: cpuSeconds(proc.pid), api: await kube.requestCounts(), m: await ctl.metrics(), t: performance.now() };
  const api = summarizeRequests(diffCounts(a.api, b.api), RESOURCES);
  return {
    incomplete, windowMs: b.t - a.t, cpuSec: b.cpu - a.cpu, writes: api.writes, reads: api.reads,
    rsaOps: b.m.rsaOps - a.m.rsaOps, rssKb: procStatus(proc.pid)?.rssKb, hwmKb: procStatus(proc.pid)?.hwmKb,
  };
}

/** Deletes the cold set's Secrets and clears every sealed resource's status (controllers stopped). */
async function reset(kube, ctl, namespaces) {
  const names = [];
  let cont = '';
  do {
    const page = (await kube.req('GET', `/apis/${ctl.group}/${ctl.version}/sealedsecrets?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, undefined, { ok: [200] })).body;
    for (const s of page.items) names.push([s.metadata.namespace, s.metadata.name]);
    cont = page.metadata.continue ?? '';
  } while (cont);
  await clearColdSet(kube, ctl, namespaces, names, 32);
}

/**
 * Runs one size for one controller ('sealbox' | 'sealed-secrets').
 * @returns {Promise<object>} raw measurements
 */
export async function benchScale(kind, n, o) {
  const { root, peers, runId, work, log } = o;
  const id = `bench-${runId}-scale${n}-${kind === 'sealbox' ? 'sbx' : 'ss'}`;
  const crdFiles = kind === 'sealbox' ? [join(root, 'crds/sealedsecrets.sealbox.dev.yaml')] : [peers.crd];
  log(`${kind} at ${n}: starting a control plane (${id})`);
  const cp = await startControlPlane({ id, crdFiles, build: true, log: (m) => log(`  ${m}`) });
  const kube = new Kube(cp.kubeconfig);
  const opts = { root, cp, kube, work, qps: o.qps, burst: o.burst, resyncPeriod: o.resyncPeriod, log, peers };
  const ctl = kind === 'sealbox' ? new SealboxController(opts) : new BitnamiController(opts);
  const out = { controller: kind, resources: n, qps: o.qps, burst: o.burst, namespaces: o.namespaces };
  const others = [];
  try {
    await ctl.install();
    await ctl.start('keygen', kind === 'sealbox' ? { extraArgs: ['--key-bits', String(o.keyBits)] } : {});
    const certFile = join(work, `${kind}-${n}-cert.pem`);
    writeFileSync(certFile, await ctl.cert());
    await ctl.proc.stop();

    const namespaces = Array.from({ length: o.namespaces }, (_, i) => `scale-${i}`);
    await Kube.pool(namespaces, 8, (ns) => kube.req('POST', '/api/v1/namespaces', { metadata: { name: ns } }, { ok: [201, 409] }));
    let t = performance.now();
    await createFixtures(kube, ctl, namespaces, n, certFile);
    out.fixtureMs = performance.now() - t;
    log(`${kind}: ${n} sealed resources sealed and created in ${(out.fixtureMs / 1000).toFixed(1)} s`);

    const one = await coldStart(kube, n, [async () => ({ ctl, proc: await ctl.start('cold') })], { ...o, cp });
    out.cold = one.m;
    if (kind === 'sealbox' && out.cold.complete) {
      out.steady = await steady(kube, ctl, ctl.proc, n, o);
      log(`sealbox: resync of ${n}: ${out.steady.cpuSec.toFixed(1)} CPU s over ${(out.steady.windowMs / 1000).toFixed(0)} s, ${out.steady.writes} writes, settled RSS ${Math.round(out.steady.rssKb / 1024)} MiB`);
    } else {
      out.settledRssKb = procStatus(ctl.proc.pid)?.rssKb;
    }
    await ctl.proc.stop();

    if (kind === 'sealbox' && o.shards > 1 && out.cold.complete) {
      await reset(kube, ctl, namespaces);
      const starts = Array.from({ length: o.shards }, (_, i) => async () => {
        const c = i === 0 ? ctl : new SealboxController(opts);
        if (i > 0) { c.tokenKc = ctl.tokenKc; others.push(c); }
        return { ctl: c, proc: await c.start(`shard${i}`, { extraArgs: o.shardArgs(i, o.shards) }) };
      });
      t = performance.now();
      const sh = await coldStart(kube, n, starts, { ...o, cp });
      out.sharded = { shards: o.shards, ...sh.m, rsaOps: sh.m.metrics.map((m) => m?.rsaOps) };
    }
    return out;
  } finally {
    if (ctl instanceof BitnamiController) await ctl.stopAndClean();
    else await ctl.proc?.stop();
    for (const c of others) await c.proc?.stop();
    kube.close();
    await cp.stop();
  }
}
