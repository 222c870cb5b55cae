// @ts-check
// Kills one process of a local control plane (test/cluster) with SIGKILL and
// starts it again with exactly the command line it had, read from
// /proc/PID/cmdline before the kill, through the harness's own spawnComponent
// (so its pid file is rewritten and the run's stop() and watchdog still find
// it). Plain ESM: test/cluster's process helpers are JavaScript. Types:
// restart.d.ts.
import process from 'node:process';
import { readFileSync } from 'node:fs';
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
 * Restarts `name` ('etcd' or 'kube-apiserver') of the run in `stateDir`:
 * SIGKILL, wait for it to be gone, spawn the same argv, wait until it answers
 * (etcd /health, API server /readyz).
 * @param {string} stateDir
 * @param {'etcd' | 'kube-apiserver'} name
 * @returns {Promise<{ downMs: number }>} time from the kill to answering again
 */
export async function restartComponent(stateDir, name) {
  const rec = /** @type {{ name: string, pid: number, exe: string }} */ (JSON.parse(readFileSync(join(stateDir, 'pids', `${name}.pid`), 'utf8')));
  if (!isRecordedProcess(rec, stateDir)) throw new Error(`${name} (pid ${rec.pid}) is not running as recorded in ${stateDir}`);
  const argv = readCmdline(rec.pid);
  if (argv === null) throw new Error(`${name} (pid ${rec.pid}) is gone`);
  const killedAt = Date.now();
  process.kill(rec.pid, 'SIGKILL');
  while (isAlive(rec.pid)) await sleep(20);
  const comp = spawnComponent(stateDir, name, rec.exe, argv.slice(1));
  if (name === 'etcd') {
    const url = flag(argv, 'listen-client-urls');
    await waitReady(comp, async () => (await request(`${url}/health`)).status === 200, 60_000, 'healthy');
  } else {
    const tls = adminTls(stateDir);
    const url = `https://127.0.0.1:${flag(argv, 'secure-port')}/readyz`;
    await waitReady(comp, async () => (await request(url, { tls })).status === 200, 90_000, '/readyz ok');
  }
  return { downMs: Date.now() - killedAt };
}
