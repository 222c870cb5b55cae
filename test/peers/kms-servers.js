// Starts and stops the KMS test servers: moto (AWS KMS), the Key Vault
// stand-in keyvault-server.mjs (Azure Key Vault; the default) and Lowkey Vault
// (Azure Key Vault; only on request, its jar is not served by our Maven
// registry, see docs/KMS.md). Plain ESM so that vitest's globalSetup, .ci/run
// and any node script can use it. Installs come from moto.sh / lowkey.sh
// (cached outside the clone); each start picks free loopback ports (or the
// port asked for), waits until the server answers, writes a pid file, and
// stop() kills only what it started.
//
//   node test/peers/kms-servers.js start [moto|keyvault|lowkey|all] [--state DIR]
//     prints one JSON object { moto?: {endpoint}, keyvault?: {endpoint, caFile, token,
//     identityEndpoint, identityHeader}, lowkey?: {endpoint, caFile} }; all = moto + keyvault
//   node test/peers/kms-servers.js stop [--state DIR]
//     kills the servers whose pid files are in DIR
import { Buffer } from 'node:buffer';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** The default directory for pid files and logs of servers started from the command line. */
export const defaultStateDir = join(tmpdir(), `sealbox-kms-peers-${String(process.getuid?.() ?? 0)}`);

/**
 * Runs an install script (moto.sh, lowkey.sh) and returns the last line it
 * printed. Rejects with the script's error output when it fails.
 * @param {string} script
 * @returns {Promise<string>}
 */
async function install(script) {
  try {
    const { stdout } = await run('bash', [join(here, script)], { maxBuffer: 16 << 20, timeout: 20 * 60_000 });
    const lines = stdout.trim().split('\n');
    return lines[lines.length - 1] ?? '';
  } catch (err) {
    const e = /** @type {{ stderr?: string, message: string }} */ (err);
    const tail = (e.stderr ?? '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`${script} failed: ${tail || e.message}`);
  }
}

/**
 * Returns a loopback TCP port that was free a moment ago.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (typeof addr === 'object' && addr) resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * @typedef {object} Started
 * @property {string} name
 * @property {number} pid
 * @property {string} endpoint
 * @property {string} [caFile]
 * @property {string} [token]
 * @property {string} [identityEndpoint]
 * @property {string} [identityHeader]
 * @property {string} logFile
 * @property {() => Promise<void>} stop
 */

/**
 * Spawns a server detached from our process group (so a terminal's Ctrl-C
 * reaches it only through our teardown), logs to a file, writes its pid
 * file and waits until `ready()` resolves true. Rejects, after killing it,
 * when it exits or does not become ready in time.
 * @param {{ name: string, cmd: string, args: string[], stateDir: string, endpoint: string,
 *           ready: () => Promise<boolean>, timeoutMs: number, caFile?: string }} o
 * @returns {Promise<Started>}
 */
async function startProcess(o) {
  mkdirSync(o.stateDir, { recursive: true });
  const logFile = join(o.stateDir, `${o.name}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(o.cmd, o.args, { stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${o.name}: could not start ${o.cmd}`);
  const pidFile = join(o.stateDir, `${o.name}.pid`);
  writeFileSync(pidFile, `${String(pid)}\n`);
  /** @type {string | undefined} */
  let exited;
  child.on('exit', (code, signal) => { exited = `exited with ${signal ?? String(code)}`; });
  child.unref();

  const stop = async () => {
    await killPid(pid, () => exited !== undefined);
    rmSync(pidFile, { force: true });
  };
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (exited !== undefined) break;
    if (await o.ready().catch(() => false)) {
      return { name: o.name, pid, endpoint: o.endpoint, caFile: o.caFile, logFile, stop };
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  await stop();
  const log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-20).join('\n');
  throw new Error(`${o.name} ${exited ?? `was not ready after ${String(o.timeoutMs / 1000)} s`}; log ${logFile}:\n${log}`);
}

/**
 * Sends SIGTERM, waits up to 5 s, then SIGKILL.
 * @param {number} pid
 * @param {() => boolean} [gone]
 */
async function killPid(pid, gone = () => !alive(pid)) {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < 50 && !gone(); i++) await sleep(100);
  if (!gone()) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
}

/** @param {number} pid */
function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Installs (first time) and starts moto's server on a free loopback port (or
 * `port`). Its endpoint serves AWS KMS for any region; account 123456789012.
 * @param {{ stateDir?: string, timeoutMs?: number, port?: number }} [opts]
 * @returns {Promise<Started>}
 */
export async function startMoto(opts = {}) {
  const bin = await install('moto.sh');
  const stateDir = opts.stateDir ?? defaultStateDir;
  let lastErr;
  for (let attempt = 0; attempt < (opts.port === undefined ? 3 : 1); attempt++) {
    const port = opts.port ?? await freePort();
    const endpoint = `http://127.0.0.1:${String(port)}`;
    try {
      return await startProcess({
        name: 'moto', cmd: bin, args: ['-H', '127.0.0.1', '-p', String(port)], stateDir, endpoint,
        timeoutMs: opts.timeoutMs ?? 60_000,
        ready: async () => (await fetch(`${endpoint}/moto-api/`)).ok,
      });
    } catch (err) { lastErr = err; } // most likely another process took the port: try another
  }
  throw lastErr;
}

/**
 * Starts the Key Vault stand-in (keyvault-server.mjs) as its own process on a
 * free loopback port (or `port`), with a fresh self-signed certificate
 * (`caFile`, trust it with NODE_EXTRA_CA_CERTS or the provider's caPem), a
 * bearer `token` it accepts, and an App Service managed-identity endpoint
 * (`identityEndpoint` + `identityHeader`, the IDENTITY_ENDPOINT and
 * IDENTITY_HEADER of DefaultAzureCredential). Nothing to install.
 * @param {{ stateDir?: string, timeoutMs?: number, port?: number }} [opts]
 * @returns {Promise<Started>}
 */
export async function startKeyVault(opts = {}) {
  const { makeTlsCertificate } = await import('./keyvault-server.mjs');
  const stateDir = opts.stateDir ?? defaultStateDir;
  mkdirSync(stateDir, { recursive: true });
  const { certPem, keyPem } = makeTlsCertificate();
  const caFile = join(stateDir, 'keyvault-ca.pem');
  const keyFile = join(stateDir, 'keyvault-key.pem');
  writeFileSync(caFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  const token = `kv-test-${randomBytes(12).toString('hex')}`;
  const identityHeader = randomBytes(12).toString('hex');
  const ca = Buffer.from(certPem);
  let lastErr;
  for (let attempt = 0; attempt < (opts.port === undefined ? 3 : 1); attempt++) {
    const port = opts.port ?? await freePort();
    const endpoint = `https://127.0.0.1:${String(port)}`;
    try {
      const started = await startProcess({
        name: 'keyvault', cmd: process.execPath, stateDir, endpoint, caFile,
        args: [join(here, 'keyvault-server.mjs'), '--cert', caFile, '--key', keyFile, '--port', String(port),
          '--token', token, '--identity-header', identityHeader],
        timeoutMs: opts.timeoutMs ?? 60_000, // loading and converting the spec files takes a few seconds
        ready: () => httpsOk(`${endpoint}/healthz`, ca),
      });
      return { ...started, token, identityHeader, identityEndpoint: `${endpoint}/msi/token` };
    } catch (err) { lastErr = err; }
  }
  throw lastErr;
}

/**
 * Installs (first time) and starts Lowkey Vault on free loopback ports. Its
 * vault is `https://127.0.0.1:PORT`; trust `caFile` for TLS.
 * @param {{ stateDir?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<Started>}
 */
export async function startLowkey(opts = {}) {
  const dir = await install('lowkey.sh');
  const stateDir = opts.stateDir ?? defaultStateDir;
  const caFile = join(dir, 'ca.pem');
  const ca = readFileSync(caFile);
  const password = readFileSync(join(dir, 'keystore.password'), 'utf8').trim();
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const tokenPort = await freePort();
    const endpoint = `https://127.0.0.1:${String(port)}`;
    try {
      return await startProcess({
        name: 'lowkey', cmd: 'java', stateDir, endpoint, caFile,
        args: ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', join(dir, 'lowkey-vault-app.jar'),
          `--server.port=${String(port)}`, `--app.token.port=${String(tokenPort)}`,
          '--LOWKEY_VAULT_RELAXED_PORTS=true',
          `--server.ssl.key-store=${join(dir, 'keystore.p12')}`, '--server.ssl.key-store-type=PKCS12',
          `--server.ssl.key-store-password=${password}`, '--server.ssl.key-alias=lowkey'],
        timeoutMs: opts.timeoutMs ?? 120_000,
        ready: () => httpsOk(`${endpoint}/ping`, ca),
      });
    } catch (err) { lastErr = err; }
  }
  throw lastErr;
}

/**
 * True when GET url answers 2xx over TLS trusting only `ca`.
 * @param {string} url
 * @param {Buffer} ca
 * @returns {Promise<boolean>}
 */
function httpsOk(url, ca) {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 300);
    });
    req.on('error', () => { resolve(false); });
    req.on('timeout', () => { req.destroy(); });
    req.end();
  });
}

/**
 * Kills the servers whose pid files are in `stateDir` (started by `start`
 * from the command line), checking first that each pid is still ours.
 * @param {string} stateDir
 */
export async function stopFromState(stateDir) {
  let names = [];
  try { names = readdirSync(stateDir).filter((f) => f.endsWith('.pid')); } catch { return; }
  for (const f of names) {
    const file = join(stateDir, f);
    const pid = Number(readFileSync(file, 'utf8').trim());
    // A recycled pid must not be killed: check the command line still names our server.
    let cmdline = '';
    try { cmdline = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8'); } catch { /* gone */ }
    if (pid > 0 && /moto_server|lowkey-vault-app|keyvault-server\.mjs/.test(cmdline)) await killPid(pid);
    rmSync(file, { force: true });
  }
}

async function main(argv) {
  const stateIdx = argv.indexOf('--state');
  const stateDir = stateIdx >= 0 ? argv[stateIdx + 1] ?? defaultStateDir : defaultStateDir;
  const [cmd, which = 'all'] = argv.filter((a, i) => a !== '--state' && argv[i - 1] !== '--state');
  if (cmd === 'stop') { await stopFromState(stateDir); return; }
  if (cmd !== 'start' || !['moto', 'keyvault', 'lowkey', 'all'].includes(which)) {
    process.stderr.write('usage: kms-servers.js start [moto|keyvault|lowkey|all] [--state DIR] | stop [--state DIR]\n');
    process.exit(2);
  }
  /** @type {Record<string, Record<string, unknown>>} */
  const result = {};
  try {
    if (which === 'moto' || which === 'all') { const m = await startMoto({ stateDir }); result.moto = { endpoint: m.endpoint, pid: m.pid }; }
    if (which === 'keyvault' || which === 'all') {
      const k = await startKeyVault({ stateDir });
      result.keyvault = { endpoint: k.endpoint, caFile: k.caFile, token: k.token, identityEndpoint: k.identityEndpoint, identityHeader: k.identityHeader, pid: k.pid };
    }
    if (which === 'lowkey') { const l = await startLowkey({ stateDir }); result.lowkey = { endpoint: l.endpoint, caFile: l.caFile, pid: l.pid }; }
  } catch (err) {
    await stopFromState(stateDir);
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
