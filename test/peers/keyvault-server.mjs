// A stand-in for Azure Key Vault, for tests only: an HTTPS server on loopback
// that speaks the subset of the Key Vault REST API that sealbox's SDK calls
// use, held to Microsoft's own data-plane OpenAPI files (version 7.6, in
// ../shared/peers/azure-keyvault/7.6): every request and every response is
// validated against them (keyvault-spec.mjs) and each mismatch is recorded as
// a violation, which the kms tests read and fail on. It exists because Lowkey
// Vault's jar is not served here (docs/KMS.md "Azure test server"). What it
// implements, and nothing more (keyvault-store.mjs; names as in the spec):
//
//   keys     CreateKey, RotateKey, GetKey (newest without version), GetKeyVersions,
//            UpdateKey (enabled, key_ops, tags), DeleteKey, wrapKey and unwrapKey,
//            encrypt and decrypt (RSA-OAEP-256 and RSA-OAEP, done with real
//            node:crypto RSA keys; sops uses encrypt/decrypt)
//   secrets  SetSecret (value <= 25 KiB, as Key Vault), GetSecret, GetSecretVersions
//   errors   the spec's KeyVaultError body { error: { code, message } }: 404
//            KeyNotFound / SecretNotFound for a missing name or version, 400
//            BadParameter for a malformed request (not JSON, not as the spec
//            says, an api-version other than 7.4-7.6), 403 for a disabled key,
//            501 for an operation of the spec not implemented here
//   auth     every Key Vault request needs `Authorization: Bearer TOKEN`; without
//            one (or with a token this server did not issue) it answers 401 with
//            the WWW-Authenticate challenge the SDK's challenge policy expects.
//            Tokens come from `token` (printed at start) or from the App Service
//            managed-identity endpoint GET /msi/token (IDENTITY_ENDPOINT +
//            IDENTITY_HEADER), so DefaultAzureCredential works against it.
//   test     GET /healthz (no auth); POST /_sealbox/spec-violations returns
//            { violations, checked } and clears the violations (no auth). A
//            request sent with the header `x-sealbox-expect-invalid: 1` is meant
//            to break the spec (error-shape tests): its mismatch is not a
//            violation, but such a request that passes validation is one.
//
// State is in memory. Not implemented: everything else (certificates, backup,
// soft-delete, RBAC, EC keys, sign/verify).
//
//   node test/peers/keyvault-server.mjs --cert FILE --key FILE [--port N] [--host H]
//       [--token T] [--identity-header H] [--spec-dir DIR] [--corrupt-field a.b]
//     prints one JSON line {endpoint, token, identityEndpoint, identityHeader}
//     and serves until SIGTERM/SIGINT; violations also go to stderr.
import { randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { loadKeyVaultSpec } from './keyvault-spec.mjs';
import { HttpError, KeyVaultStore } from './keyvault-store.mjs';
import { CHALLENGE, issueToken, makeTlsCertificate } from './keyvault-auth.mjs';

export { MAX_SECRET_BYTES } from './keyvault-store.mjs';
export { makeTlsCertificate } from './keyvault-auth.mjs';

/** api-version values this server answers; requests are validated against the 7.6 files. */
export const API_VERSIONS = new Set(['7.4', '7.5', '7.6']);
/** Where tests read (and clear) the recorded violations. */
export const VIOLATIONS_PATH = '/_sealbox/spec-violations';
/** Header that marks a request meant to break the spec. */
export const EXPECT_INVALID_HEADER = 'x-sealbox-expect-invalid';

const SPEC_VERSION = '7.6';

/**
 * @typedef {object} Violation  A request or response that does not match the spec.
 * @property {string} request       `METHOD /path`
 * @property {string} [operationId]
 * @property {'request' | 'response'} where
 * @property {number} [status]      the response's status
 * @property {string[]} errors
 */

/**
 * @typedef {object} State
 * @property {Set<string>} issued          bearer tokens accepted
 * @property {string} identityHeader
 * @property {KeyVaultStore} store
 * @property {Awaited<ReturnType<typeof loadKeyVaultSpec>>} spec
 * @property {Violation[]} violations
 * @property {{ checked: number }} counts  requests and responses validated
 * @property {string[]} requests
 * @property {string | undefined} corruptField
 * @property {(v: Violation) => void} onViolation
 */

/**
 * Starts the server. Resolves once the spec files are loaded and it listens;
 * rejects when they cannot be loaded (docs/KMS.md says where they are).
 * `corruptField` (dotted path, e.g. `attributes.enabled`) gives that field of
 * every successful answer a value of the wrong type: a mode for the test that
 * shows the validation catches a bad response.
 * @param {{ certPem: string, keyPem: string, host?: string, port?: number, token?: string, identityHeader?: string,
 *   specDir?: string, corruptField?: string, onViolation?: (v: Violation) => void }} o
 * @returns {Promise<{ endpoint: string, token: string, identityEndpoint: string, identityHeader: string,
 *   requests: string[], violations: Violation[], close: () => Promise<void> }>}
 */
export async function startKeyVaultServer(o) {
  const token = o.token ?? `kv-test-${randomBytes(12).toString('hex')}`;
  /** @type {State} */
  const state = {
    issued: new Set([token]), identityHeader: o.identityHeader ?? randomBytes(12).toString('hex'),
    store: new KeyVaultStore(), spec: await loadKeyVaultSpec(o.specDir), violations: [], counts: { checked: 0 },
    requests: [], corruptField: o.corruptField, onViolation: o.onViolation ?? (() => undefined),
  };
  const server = createServer({ cert: o.certPem, key: o.keyPem }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let status = 500;
      let payload;
      let headers = {};
      try {
        [status, payload, headers = {}] = answer(state, req, Buffer.concat(chunks));
      } catch (err) {
        // A bug of the stand-in: answered, and recorded so that the test fails with it.
        payload = { error: { code: 'InternalError', message: err instanceof Error ? err.message : String(err) } };
        record(state, { request: `${req.method ?? ''} ${req.url ?? ''}`, where: 'response', status, errors: [`the stand-in failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`] });
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
  const endpoint = `https://${o.host ?? '127.0.0.1'}:${String(typeof addr === 'object' && addr ? addr.port : 0)}`;
  return {
    endpoint, token, identityHeader: state.identityHeader, identityEndpoint: `${endpoint}/msi/token`,
    requests: state.requests, violations: state.violations,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/**
 * Answers one request: the test endpoints, else a Key Vault request.
 * @param {State} state @param {import('node:http').IncomingMessage} req @param {Buffer} raw
 * @returns {[number, unknown, Record<string, string>?]}
 */
function answer(state, req, raw) {
  const origin = `https://${req.headers.host ?? '127.0.0.1'}`;
  const url = new URL(req.url ?? '/', origin);
  state.requests.push(`${req.method ?? ''} ${url.pathname} ${url.searchParams.get('api-version') ?? '-'}`);
  if (url.pathname === '/healthz') return [200, { status: 'ok' }];
  if (url.pathname === '/msi/token') return issueToken(state.issued, state.identityHeader, req, url);
  if (url.pathname === VIOLATIONS_PATH && req.method === 'POST') {
    return [200, { violations: state.violations.splice(0), checked: state.counts.checked }];
  }
  return vaultAnswer(state, req, url, raw, origin);
}

/**
 * A Key Vault request: matched to the spec, authenticated, validated, run,
 * and its answer validated too. Violations are recorded in `state`.
 * @param {State} state @param {import('node:http').IncomingMessage} req @param {URL} url @param {Buffer} raw @param {string} origin
 * @returns {[number, unknown, Record<string, string>?]}
 */
function vaultAnswer(state, req, url, raw, origin) {
  const method = req.method ?? 'GET';
  const line = `${method} ${url.pathname}`;
  const body = parseBody(raw);
  const query = Object.fromEntries(url.searchParams);
  const check = state.spec.request({ method, path: url.pathname, query, headers: req.headers, body: body.value });
  // A vault authenticates first: the SDK's first request (body left out on purpose) only fetches the challenge.
  const authorized = state.issued.has(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  /** @type {[number, unknown, Record<string, string>?]} */
  let result;
  if (!authorized) {
    result = [401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, { 'www-authenticate': CHALLENGE }];
  } else {
    const problems = requestProblems(check, body, query);
    noteRequest(state, req, line, check.matched?.operationId, problems);
    result = runOperation(state, check, url, body, origin);
  }
  if (state.corruptField !== undefined && result[0] < 300) corrupt(result[1], state.corruptField);
  if (check.matched) {
    state.counts.checked++;
    const errors = state.spec.response(check.matched, result[0], result[1]);
    if (errors.length > 0) record(state, { request: line, operationId: check.matched.operationId, where: 'response', status: result[0], errors });
  }
  return result;
}

/**
 * What is wrong with an authenticated request, first problem first: the
 * body is not JSON, the api-version is not the spec's, the spec's own checks.
 * @param {{ errors: string[] }} check @param {{ value: unknown, invalid: boolean }} body @param {Record<string, string>} query
 * @returns {string[]}
 */
function requestProblems(check, body, query) {
  const problems = [];
  if (body.invalid) problems.push('the body is not valid JSON');
  const version = query['api-version'];
  if (version !== undefined && version !== SPEC_VERSION) problems.push(`api-version ${version} is not the spec's ${SPEC_VERSION}`);
  return [...problems, ...check.errors];
}

/**
 * Records an authenticated request's problems as a violation, unless the
 * request is marked as meant to break the spec; a marked request with no
 * problem is itself a violation (the validation missed what the test broke).
 * @param {State} state @param {import('node:http').IncomingMessage} req @param {string} line
 * @param {string | undefined} operationId @param {string[]} problems
 */
function noteRequest(state, req, line, operationId, problems) {
  state.counts.checked++;
  const expectInvalid = req.headers[EXPECT_INVALID_HEADER] !== undefined;
  if (expectInvalid && problems.length === 0) {
    record(state, { request: line, operationId, where: 'request', errors: ['the request was sent to break the spec, but it passed validation'] });
  } else if (!expectInvalid && problems.length > 0) {
    record(state, { request: line, operationId, where: 'request', errors: problems });
  }
}

/**
 * Answers a malformed request with 400 BadParameter (404 for a path the spec
 * does not have), else runs the operation in the store.
 * @returns {[number, unknown]}
 */
function runOperation(state, check, url, body, origin) {
  const version = url.searchParams.get('api-version') ?? '';
  try {
    if (!API_VERSIONS.has(version)) {
      throw new HttpError(400, 'BadParameter', `The specified version (${version}) is not recognized. Consider using the latest supported version (${SPEC_VERSION}).`);
    }
    if (body.invalid) throw new HttpError(400, 'BadParameter', 'The request body is not valid JSON.');
    if (!check.matched) throw new HttpError(404, 'NotFound', `There is no Key Vault operation ${url.pathname}.`);
    if (check.errors.length > 0) throw new HttpError(400, 'BadParameter', `The request is not valid: ${check.errors.join('; ')}.`);
    const [, , name = '', third] = url.pathname.split('/').map(decodeURIComponent);
    const versioned = /-version\}/.test(check.matched.operation.path);
    return state.store.run(check.matched.operationId, { name, version: versioned ? third : undefined, body: () => body.value ?? {}, origin });
  } catch (err) {
    const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', err instanceof Error ? err.message : String(err));
    return [e.status, { error: { code: e.code, message: e.message } }];
  }
}

/** @param {Buffer} raw @returns {{ value: unknown, invalid: boolean }} */
function parseBody(raw) {
  if (raw.length === 0) return { value: undefined, invalid: false };
  try { return { value: JSON.parse(raw.toString('utf8')), invalid: false }; } catch { return { value: undefined, invalid: true }; }
}

/** @param {State} state @param {Violation} v */
function record(state, v) {
  state.violations.push(v);
  state.onViolation(v);
}

/**
 * Gives the field at `path` (dotted) a value of the wrong type, when the body has it.
 * @param {unknown} body @param {string} path
 */
function corrupt(body, path) {
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let o = body;
  for (const k of keys) o = o !== null && typeof o === 'object' ? o[k] : undefined;
  if (o === null || typeof o !== 'object' || !(last in o)) return;
  o[last] = typeof o[last] === 'string' ? 42 : 'corrupted';
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
    token: arg('--token'), identityHeader: arg('--identity-header'), specDir: arg('--spec-dir'), corruptField: arg('--corrupt-field'),
    onViolation: (v) => { process.stderr.write(`spec violation: ${JSON.stringify(v)}\n`); },
  });
  process.stdout.write(`${JSON.stringify({ endpoint: s.endpoint, token: s.token, identityEndpoint: s.identityEndpoint, identityHeader: s.identityHeader })}\n`);
  const stop = () => { void s.close().then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
