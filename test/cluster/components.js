// @ts-check
// The three control-plane processes: their flags, how they are spawned (own
// process group, output to a log file, pid file written at once), and the
// readiness probes used while starting them.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writePidFile } from './procs.js';

/** Controllers the tests rely on; the rest of kube-controller-manager stays off. */
export const CONTROLLERS = [
  'garbage-collector-controller', // ownerReference cascade deletion
  'namespace-controller', // deleting a namespace deletes its contents
  'serviceaccount-controller', // "default" service account in every namespace
  'serviceaccount-token-controller', // legacy token Secrets, signed with the SA key
  'root-ca-certificate-publisher-controller', // kube-root-ca.crt ConfigMap for in-cluster clients
  'clusterrole-aggregation-controller', // aggregate-to-view/edit/admin ClusterRoles
];

/**
 * @typedef {object} Component
 * @property {string} name
 * @property {number} pid
 * @property {string} logFile
 * @property {{ code: number | null, signal: string | null } | null} exit set once the process ended
 */

/**
 * @param {{ dataDir: string, clientPort: number, peerPort: number }} o
 * @returns {string[]}
 */
export function etcdArgs(o) {
  const client = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  return [
    '--name=sealbox', `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=sealbox=${peer}`,
    // test data is thrown away after the run; fsync would only slow it down
    '--unsafe-no-fsync', '--log-level=warn',
  ];
}

/**
 * @param {{ stateDir: string, etcdPort: number, port: number, pki: import('./pki.js').Pki }} o
 * @returns {string[]}
 */
export function apiserverArgs(o) {
  return [
    `--etcd-servers=http://127.0.0.1:${o.etcdPort}`,
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${o.port}`,
    `--cert-dir=${join(o.stateDir, 'apiserver')}`,
    `--tls-cert-file=${o.pki.serverCert}`, `--tls-private-key-file=${o.pki.serverKey}`,
    `--client-ca-file=${o.pki.caCert}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${o.pki.saPub}`, `--service-account-signing-key-file=${o.pki.saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    // a loopback address cannot be written into the "kubernetes" Endpoints
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true', '--profiling=false',
  ];
}

/**
 * @param {{ kubeconfig: string, pki: import('./pki.js').Pki }} o
 * @returns {string[]}
 */
export function controllerManagerArgs(o) {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    `--service-account-private-key-file=${o.pki.saKey}`, `--root-ca-file=${o.pki.caCert}`,
    '--leader-elect=false', '--use-service-account-credentials=false',
    // no serving endpoint needed: readiness is checked through the API server
    '--secure-port=0',
  ];
}

/**
 * Spawns a component detached (its own process group, so a terminal's Ctrl-C
 * reaches only the runner, which stops components in order) with output to
 * `<stateDir>/logs/<name>.log`, and writes its pid file before returning.
 * @param {string} stateDir
 * @param {string} name
 * @param {string} exe absolute path of the binary
 * @param {string[]} args
 * @returns {Component}
 */
export function spawnComponent(stateDir, name, exe, args) {
  const logFile = join(stateDir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(exe, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${exe})`);
  /** @type {Component} */
  const comp = { name, pid: child.pid, logFile, exit: null };
  writePidFile(join(stateDir, 'pids'), { name, pid: child.pid, exe });
  child.on('exit', (code, signal) => { comp.exit = { code, signal }; });
  child.on('error', () => { comp.exit ??= { code: null, signal: null }; });
  child.unref();
  return comp;
}

/**
 * Polls `probe` until it returns true. Fails early, with the last log lines,
 * when the component exits.
 * @param {Component} comp
 * @param {() => Promise<boolean>} probe
 * @param {number} timeoutMs
 * @param {string} what what we wait for, for the error message
 * @throws {Error} with `code` EADDRINUSE when the component lost a port race
 */
export async function waitReady(comp, probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (comp.exit !== null) {
      const tail = logTail(comp.logFile);
      const err = new Error(`${comp.name} exited (code ${comp.exit.code ?? comp.exit.signal}) before ${what}; ` +
        `last log lines from ${comp.logFile}:\n${tail}`);
      if (/address already in use/i.test(tail)) Object.assign(err, { code: 'EADDRINUSE' });
      throw err;
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`${comp.name} did not reach ${what} within ${timeoutMs / 1000} s; ` +
        `last log lines from ${comp.logFile}:\n${logTail(comp.logFile)}`);
    }
    await sleep(100);
  }
}

/**
 * Returns the last lines of a log file ('' when unreadable).
 * @param {string} file
 * @param {number} [lines]
 */
export function logTail(file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Returns `n` distinct free TCP ports on 127.0.0.1. They are free when chosen;
 * a concurrent run may still take one first, which `waitReady` reports.
 * @param {number} n
 * @returns {Promise<number[]>}
 */
export async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { resolve(s); });
  })));
  const ports = servers.map((s) => /** @type {import('node:net').AddressInfo} */ (/** @type {import('node:net').Server} */ (s).address()).port);
  await Promise.all(servers.map((s) => new Promise((r) => { /** @type {import('node:net').Server} */ (s).close(r); })));
  return ports;
}

/**
 * @typedef {object} TlsClient
 * @property {string} ca
 * @property {string} cert
 * @property {string} key
 */

/**
 * Sends one request and returns the status and body. `tls` is required for
 * https URLs (the admin client certificate); bodies are JSON.
 * @param {string} url
 * @param {{ tls?: TlsClient, method?: string, body?: unknown, timeoutMs?: number }} [opts]
 * @returns {Promise<{ status: number, body: string }>}
 */
export function request(url, opts = {}) {
  const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method: opts.method ?? 'GET', ...(opts.tls ?? {}), timeout: opts.timeoutMs ?? 5000,
      headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += String(c); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    req.on('timeout', () => { req.destroy(new Error(`request to ${url} timed out`)); });
    req.on('error', reject);
    req.end(data);
  });
}
