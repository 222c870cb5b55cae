// A stand-in for Azure Key Vault, for tests only: an HTTPS server on loopback
// that speaks the subset of the Key Vault REST API (api-version 7.4–7.6) that
// sealbox's SDK calls use. It exists because Lowkey Vault's runnable jar is
// not served by the Maven registry this project's machines reach (docs/KMS.md
// "Azure test server"). What it implements, and nothing more:
//
//   keys     POST /keys/NAME/create      create an RSA key (or a new version of it)
//            POST /keys/NAME/rotate      new version with the same key type and size
//            GET  /keys/NAME[/VERSION]   key bundle (public n, e), newest without version
//            GET  /keys/NAME/versions    list versions
//            PATCH /keys/NAME/VERSION    update attributes (enabled) and key_ops
//            DELETE /keys/NAME           delete every version
//            POST /keys/NAME/VERSION/wrapkey|unwrapkey   RSA-OAEP-256 (and RSA-OAEP),
//                                        done with real node:crypto RSA keys
//   secrets  PUT  /secrets/NAME          new version (value ≤ 25 KiB, as Key Vault)
//            GET  /secrets/NAME[/VERSION], GET /secrets/NAME/versions
//   auth     every Key Vault request needs `Authorization: Bearer TOKEN`; without
//            one (or with a token this server did not issue) it answers 401 with
//            the WWW-Authenticate challenge the SDK's challenge policy expects.
//            Tokens come from `token` (printed at start) or from the App Service
//            managed-identity endpoint GET /msi/token (IDENTITY_ENDPOINT +
//            IDENTITY_HEADER), so DefaultAzureCredential works against it.
//   other    GET /healthz (no auth); an api-version other than 7.4–7.6 is
//            refused with 400, as a vault refuses versions it does not know.
//
// State is in memory. Not implemented: everything else (certificates, backup
// blobs, soft-delete recovery, RBAC, EC keys, encrypt/decrypt/sign).
//
//   node test/peers/keyvault-server.mjs --cert FILE --key FILE [--port N] [--host H]
//     prints one JSON line {endpoint, token, identityEndpoint, identityHeader}
//     and serves until SIGTERM/SIGINT.
import { constants, createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import forge from 'node-forge';

/** api-version values this server answers (sealbox pins 7.6). */
export const API_VERSIONS = new Set(['7.4', '7.5', '7.6']);
/** Key Vault's limit on a secret's value. */
export const MAX_SECRET_BYTES = 25 * 1024;

const NAME = /^[0-9A-Za-z-]{1,127}$/;
const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const newVersion = () => randomBytes(16).toString('hex');

/**
 * Makes a self-signed TLS certificate for 127.0.0.1 and localhost (RSA 2048,
 * valid 2 days). Returns PEM texts; the certificate is also the CA to trust.
 * @returns {{ certPem: string, keyPem: string }}
 */
export function makeTlsCertificate() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 86_400_000);
  const subject = [{ name: 'commonName', value: 'sealbox keyvault test server' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

class HttpError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @typedef {object} KeyVersion
 * @property {string} version
 * @property {import('node:crypto').KeyObject} privateKey
 * @property {number} size
 * @property {string[]} ops
 * @property {boolean} enabled
 * @property {number} created
 * @property {number} updated
 * @property {Record<string, string>} tags
 */

/**
 * Starts the server. Resolves once it listens.
 * @param {{ certPem: string, keyPem: string, host?: string, port?: number, token?: string, identityHeader?: string }} o
 * @returns {Promise<{ endpoint: string, token: string, identityEndpoint: string, identityHeader: string,
 *   requests: string[], close: () => Promise<void> }>}
 */
export async function startKeyVaultServer(o) {
  const token = o.token ?? `kv-test-${randomBytes(12).toString('hex')}`;
  const identityHeader = o.identityHeader ?? randomBytes(12).toString('hex');
  const issued = new Set([token]);
  /** @type {Map<string, KeyVersion[]>} lower-cased name -> versions, oldest first */
  const keys = new Map();
  /** @type {Map<string, { version: string, value: string, contentType?: string, tags: Record<string,string>, created: number }[]>} */
  const secrets = new Map();
  /** One line per request (method, path, api-version), for debugging and tests. */
  const requests = [];

  const handle = (req, body, origin) => {
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname.replace(/\/+$/, '');
    requests.push(`${req.method} ${path} ${url.searchParams.get('api-version') ?? '-'}`);
    if (path === '/healthz') return [200, { status: 'ok' }];
    if (path === '/msi/token') return issueToken(req, url);
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !issued.has(m[1] ?? '')) {
      // What a vault answers: the SDK reads the authority and resource, gets a token, retries.
      return [401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        'www-authenticate': 'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"',
      }];
    }
    const apiVersion = url.searchParams.get('api-version') ?? '';
    if (!API_VERSIONS.has(apiVersion)) {
      throw new HttpError(400, 'BadParameter', `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (7.6).`);
    }
    const parts = path.split('/').slice(1).map(decodeURIComponent);
    const json = () => {
      if (body.length === 0) return {};
      try { return JSON.parse(body.toString('utf8')); } catch { throw new HttpError(400, 'BadParameter', 'The request body is not valid JSON.'); }
    };
    if (parts[0] === 'keys') return keyRoute(req.method ?? 'GET', parts.slice(1), json, origin);
    if (parts[0] === 'secrets') return secretRoute(req.method ?? 'GET', parts.slice(1), json, origin);
    throw new HttpError(404, 'NotFound', `no route ${req.method ?? ''} ${path}`);
  };

  const issueToken = (req, url) => {
    if (req.headers['x-identity-header'] !== identityHeader) {
      return [401, { error: 'unauthorized', error_description: 'X-IDENTITY-HEADER is missing or wrong' }];
    }
    const t = `kv-mi-${randomBytes(12).toString('hex')}`;
    issued.add(t);
    const resource = url.searchParams.get('resource') ?? '';
    return [200, { access_token: t, expires_on: String(now() + 3600), resource, token_type: 'Bearer', client_id: '00000000-0000-0000-0000-000000000000' }];
  };

  const keyRoute = (method, [name = '', second, third, ...rest], json, origin) => {
    if (!NAME.test(name) || rest.length > 0) throw new HttpError(400, 'BadParameter', 'Invalid key name or path.');
    const versions = keys.get(name.toLowerCase());
    const bundleOf = (k) => keyBundle(origin, name, k);
    if (method === 'POST' && (second === 'create' || second === 'rotate') && third === undefined) {
      const body = second === 'create' ? json() : {};
      const last = versions?.[versions.length - 1];
      if (second === 'rotate' && !last) throw keyNotFound(name);
      const kty = second === 'create' ? body.kty : 'RSA';
      if (kty !== 'RSA' && kty !== 'RSA-HSM') throw new HttpError(400, 'BadParameter', `Key type ${String(kty)} is not supported by this test server (RSA only).`);
      const size = second === 'create' ? body.key_size ?? 2048 : last?.size ?? 2048;
      if (![2048, 3072, 4096].includes(size)) throw new HttpError(400, 'BadParameter', 'key_size must be 2048, 3072 or 4096.');
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: size });
      const k = {
        version: newVersion(), privateKey, size,
        ops: second === 'create' ? body.key_ops ?? ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'] : last?.ops ?? [],
        enabled: body.attributes?.enabled ?? true, created: now(), updated: now(), tags: body.tags ?? last?.tags ?? {},
      };
      keys.set(name.toLowerCase(), [...(versions ?? []), k]);
      return [200, bundleOf(k)];
    }
    if (method === 'GET' && second === 'versions' && third === undefined) {
      if (!versions) throw keyNotFound(name);
      return [200, { value: versions.map((k) => ({ kid: `${origin}/keys/${name}/${k.version}`, attributes: attributes(k), tags: k.tags })), nextLink: null }];
    }
    if (method === 'DELETE' && second === undefined) {
      const last = versions?.[versions.length - 1];
      if (!last) throw keyNotFound(name);
      keys.delete(name.toLowerCase());
      return [200, bundleOf(last)];
    }
    const k = second === undefined || second === '' ? versions?.[versions.length - 1] : versions?.find((v) => v.version === second);
    if (!k) throw keyNotFound(second ? `${name}/${second}` : name);
    if (method === 'GET' && third === undefined) return [200, bundleOf(k)];
    if (method === 'PATCH' && third === undefined) {
      const body = json();
      if (typeof body.attributes?.enabled === 'boolean') k.enabled = body.attributes.enabled;
      if (Array.isArray(body.key_ops)) k.ops = body.key_ops;
      if (body.tags) k.tags = body.tags;
      k.updated = now();
      return [200, bundleOf(k)];
    }
    if (method === 'POST' && (third === 'wrapkey' || third === 'unwrapkey')) return [200, wrapOrUnwrap(k, third, json(), `${origin}/keys/${name}/${k.version}`)];
    throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported on this key path.`);
  };

  const wrapOrUnwrap = (k, op, body, kid) => {
    const opName = op === 'wrapkey' ? 'wrapKey' : 'unwrapKey';
    if (!k.enabled) throw new HttpError(403, 'Forbidden', `Operation ${opName} is not allowed on a disabled key.`);
    if (!k.ops.includes(opName)) throw new HttpError(400, 'BadParameter', `Operation ${opName} is not permitted on this key.`);
    const oaepHash = body.alg === 'RSA-OAEP-256' ? 'sha256' : body.alg === 'RSA-OAEP' ? 'sha1' : undefined;
    if (oaepHash === undefined) throw new HttpError(400, 'BadParameter', `Algorithm ${String(body.alg)} is not supported by this test server.`);
    if (typeof body.value !== 'string') throw new HttpError(400, 'BadParameter', 'value is required.');
    const input = Buffer.from(body.value, 'base64url');
    const padding = constants.RSA_PKCS1_OAEP_PADDING;
    if (op === 'wrapkey') return { kid, value: b64u(publicEncrypt({ key: createPublicKey(k.privateKey), padding, oaepHash }, input)) };
    try {
      return { kid, value: b64u(privateDecrypt({ key: k.privateKey, padding, oaepHash }, input)) };
    } catch {
      throw new HttpError(400, 'BadParameter', 'Unwrap failed: the wrapped key does not decrypt with this key version.');
    }
  };

  const secretRoute = (method, [name = '', second, ...rest], json, origin) => {
    if (!NAME.test(name) || rest.length > 0) throw new HttpError(400, 'BadParameter', 'Invalid secret name or path.');
    const versions = secrets.get(name.toLowerCase());
    const bundleOf = (s) => ({
      id: `${origin}/secrets/${name}/${s.version}`, value: s.value, ...(s.contentType === undefined ? {} : { contentType: s.contentType }),
      attributes: { enabled: true, created: s.created, updated: s.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 }, tags: s.tags,
    });
    if (method === 'PUT' && second === undefined) {
      const body = json();
      if (typeof body.value !== 'string') throw new HttpError(400, 'BadParameter', 'value is required.');
      if (Buffer.byteLength(body.value, 'utf8') > MAX_SECRET_BYTES) throw new HttpError(400, 'BadParameter', 'Secret value is too large: the maximum is 25 KB.');
      const s = { version: newVersion(), value: body.value, contentType: body.contentType, tags: body.tags ?? {}, created: now() };
      secrets.set(name.toLowerCase(), [...(versions ?? []), s]);
      return [200, bundleOf(s)];
    }
    if (method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported on secrets by this test server.`);
    if (!versions) throw new HttpError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`);
    if (second === 'versions') {
      return [200, { value: versions.map((s) => { const { value: _v, ...item } = bundleOf(s); return item; }), nextLink: null }];
    }
    const s = second === undefined || second === '' ? versions[versions.length - 1] : versions.find((v) => v.version === second);
    if (!s) throw new HttpError(404, 'SecretNotFound', `A secret with (name/id) ${name}/${second ?? ''} was not found in this key vault.`);
    return [200, bundleOf(s)];
  };

  const server = createServer({ cert: o.certPem, key: o.keyPem }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let status;
      let payload;
      let headers = {};
      try {
        [status, payload, headers = {}] = handle(req, Buffer.concat(chunks), `https://${req.headers.host ?? '127.0.0.1'}`);
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', err instanceof Error ? err.message : String(err));
        status = e.status;
        payload = { error: { code: e.code, message: e.message } };
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve(undefined));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const endpoint = `https://${o.host ?? '127.0.0.1'}:${String(port)}`;
  return {
    endpoint, token, identityHeader, identityEndpoint: `${endpoint}/msi/token`, requests,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** @param {KeyVersion} k */
function attributes(k) {
  return { enabled: k.enabled, created: k.created, updated: k.updated, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 };
}

/** @param {string} origin @param {string} name @param {KeyVersion} k */
function keyBundle(origin, name, k) {
  const jwk = createPublicKey(k.privateKey).export({ format: 'jwk' });
  return { key: { kid: `${origin}/keys/${name}/${k.version}`, kty: 'RSA', key_ops: k.ops, n: jwk.n, e: jwk.e }, attributes: attributes(k), tags: k.tags };
}

/** @param {string} what */
function keyNotFound(what) {
  return new HttpError(404, 'KeyNotFound', `A key with (name/id) ${what} was not found in this key vault.`);
}

async function main(argv) {
  const arg = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  let certPem;
  let keyPem;
  const certFile = arg('--cert');
  const keyFile = arg('--key');
  if (certFile && keyFile) {
    certPem = readFileSync(certFile, 'utf8');
    keyPem = readFileSync(keyFile, 'utf8');
  } else {
    ({ certPem, keyPem } = makeTlsCertificate());
    const caOut = arg('--ca-out');
    if (caOut) writeFileSync(caOut, certPem);
  }
  const s = await startKeyVaultServer({
    certPem, keyPem, port: Number(arg('--port') ?? 0), host: arg('--host') ?? '127.0.0.1',
    token: arg('--token'), identityHeader: arg('--identity-header'),
  });
  process.stdout.write(`${JSON.stringify({ endpoint: s.endpoint, token: s.token, identityEndpoint: s.identityEndpoint, identityHeader: s.identityHeader })}\n`);
  const stop = () => { void s.close().then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
