// @ts-check
// Kills one process of a local control plane (test/cluster) with SIGKILL and
// starts it again with exactly the command line it had, read from
// /proc/PID/cmdline before the kill, through the harness's own spawnComponent
// (so its pid file is rewritten and the run's stop() and watchdog still find
// it). Plain ESM: test/cluster's process helpers are JavaScript. Types:
// restart.d.ts.
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { request, spawnComponent, waitReady } from '../cluster/components.js';
import { isAlive, isRecordedProcess, readCmdline } from '../cluster/procs.js';

/**
 * @param {string[]} argv
 * @param {string} name
 */
function flag(argv, name) {
  const v = argv.find((a) => a.startsWith(`--${name}=`));
  if (v === undefined) throw new Error(`--${name} not found in ${argv.join(' ')}`);
  return v.slice(name.length + 3);
}

/**
 * The admin client certificate and CA from the run's kubeconfig, for probing
 * the API server's /readyz.
 * @param {string} stateDir
 */
function adminTls(stateDir) {
  const kc = /** @type {{ clusters: { cluster: Record<string, string> }[], users: { user: Record<string, string> }[] }} */ (
    parse(readFileSync(join(stateDir, 'kubeconfig'), 'utf8')));
  const dec = (/** @type {string | undefined} */ b64) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  return {
    ca: dec(kc.clusters[0]?.cluster['certificate-authority-data']),
    cert: dec(kc.users[0]?.user['client-certificate-data']),
    key: dec(kc.users[0]?.user['client-key-data']),
  };
}

/**
 * True when 127.0.0.1:`port` can be listened on now.
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function portFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => { resolve(false); });
    srv.listen(port, '127.0.0.1', () => { srv.close(() => { resolve(true); }); });
  });
}

/**
 * Restarts `name` ('etcd' or 'kube-apiserver') of the run in `stateDir`:
 * SIGKILL, wait for it to be gone, spawn the same argv, wait until it answers
 * (etcd /health, API server /readyz).
 *
 * The ports were picked from the ephemeral range when the run started, so
 * once the process is gone another process's outgoing connection may take
 * its port for a while (seen with other test files running beside this one).
 * We wait for the port to be free before spawning, and spawn again if the
 * component still loses the race (up to `timeoutMs`).
 * @param {string} stateDir
 * @param {'etcd' | 'kube-apiserver'} name
 * @param {number} [timeoutMs]
 * @returns {Promise<{ downMs: number, attempts: number }>} time from the kill to answering again
 */
export async function restartComponent(stateDir, name, timeoutMs = 120_000) {
  const rec = /** @type {{ name: string, pid: number, exe: string }} */ (JSON.parse(readFileSync(join(stateDir, 'pids', `${name}.pid`), 'utf8')));
  if (!isRecordedProcess(rec, stateDir)) throw new Error(`${name} (pid ${rec.pid}) is not running as recorded in ${stateDir}`);
  const argv = readCmdline(rec.pid);
  if (argv === null) throw new Error(`${name} (pid ${rec.pid}) is gone`);
  const url = name === 'etcd' ? flag(argv, 'listen-client-urls') : `https://127.0.0.1:${flag(argv, 'secure-port')}`;
  const port = Number(new URL(url).port);
  const tls = name === 'etcd' ? undefined : adminTls(stateDir);
  const probe = name === 'etcd'
    ? async () => (await request(`${url}/health`)).status === 200
    : async () => (await request(`${url}/readyz`, { tls })).status === 200;
  const killedAt = Date.now();
  process.kill(rec.pid, 'SIGKILL');
  while (isAlive(rec.pid)) await sleep(20);
  for (let attempts = 1; ; attempts++) {
    while (!(await portFree(port))) {
      if (Date.now() - killedAt > timeoutMs) throw new Error(`${name}: port ${port} stayed taken for ${timeoutMs / 1000} s after the kill`);
      await sleep(100);
    }
    const comp = spawnComponent(stateDir, name, rec.exe, argv.slice(1));
    try {
      await waitReady(comp, probe, Math.max(1000, timeoutMs - (Date.now() - killedAt)), name === 'etcd' ? 'healthy' : '/readyz ok');
      return { downMs: Date.now() - killedAt, attempts };
    } catch (err) {
      if (/** @type {{ code?: unknown }} */ (err).code !== 'EADDRINUSE' || Date.now() - killedAt > timeoutMs) throw err;
    }
  }
}
