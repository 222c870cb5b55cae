// Holds the Key Vault stand-in (keyvault-server.mjs) to Microsoft's own
// data-plane OpenAPI files: Swagger 2.0 keys.json and secrets.json, version
// 7.6, kept unmodified in ../shared/peers/azure-keyvault/7.6 beside the clone
// (SOURCE.md there says where they come from). Each file is converted to
// OpenAPI 3.0 in memory with swagger2openapi, then every request and every
// response is validated with openapi-backend (ajv underneath). docs/KMS.md
// "Held to the specification" says what this covers and what it cannot.
//
// Two changes are made to the converted documents, in memory only:
// - `servers` becomes `/`: the vault's x-ms-parameterized-host turns into a
//   server variable with a `format`, which OpenAPI 3.0 does not allow, and
//   paths are matched from the root anyway;
// - `x-ms-examples` are dropped: they are documentation, and most of the
//   example files they point to are not among the copies.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { OpenAPIBackend, OpenAPIValidator } from 'openapi-backend';
import swagger2openapi from 'swagger2openapi';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The folder of the spec files: SEALBOX_KEYVAULT_SPEC_DIR, else
 * ../shared/peers/azure-keyvault/7.6 relative to the repository root.
 * @returns {string}
 */
export function defaultSpecDir() {
  return process.env.SEALBOX_KEYVAULT_SPEC_DIR ?? join(repoRoot, '..', 'shared', 'peers', 'azure-keyvault', '7.6');
}

// Formats the Key Vault files use beyond JSON Schema's own (ajv warns about
// and ignores unknown ones, which would check nothing).
const INT32 = 2 ** 31;
const FORMATS = {
  base64url: /^[A-Za-z0-9_-]*$/,
  unixtime: { type: 'number', validate: (n) => Number.isInteger(n) },
  int32: { type: 'number', validate: (n) => Number.isInteger(n) && n >= -INT32 && n < INT32 },
  uri: (s) => URL.canParse(s),
};

/**
 * Reads one Swagger 2.0 file and returns it as an OpenAPI 3.0 document.
 * @param {string} file
 * @returns {Promise<object>}
 */
async function toOpenApi3(file) {
  const swagger = JSON.parse(readFileSync(file, 'utf8'));
  for (const item of Object.values(swagger.paths ?? {})) {
    for (const op of Object.values(item)) if (op && typeof op === 'object') delete op['x-ms-examples'];
  }
  const { openapi } = await swagger2openapi.convertObj(swagger, { patch: false, warnOnly: false, resolve: false });
  openapi.servers = [{ url: '/' }];
  return openapi;
}

/**
 * Builds a router and a validator for one converted document. The document
 * itself is checked as OpenAPI 3.0 first (`strict`), so a conversion gone
 * wrong fails the start instead of validating against a broken schema.
 * Validators are compiled on first use of each operation: compiling all of
 * them up front takes seconds that every test run would pay.
 * @param {object} definition
 */
async function backendFor(definition) {
  const api = new OpenAPIBackend({ definition, strict: true, validate: false, ignoreTrailingSlashes: false });
  await api.init();
  // The router lists the operations anew (through lodash) several times per
  // request, about 5 ms each time; the document does not change, so list once.
  const operations = api.router.getOperations();
  api.router.getOperations = () => operations;
  const validator = new OpenAPIValidator({
    definition: api.definition, router: api.router, lazyCompileValidators: true, ajvOpts: { allErrors: true },
    customizeAjv: (ajv) => {
      for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format);
      return ajv;
    },
  });
  return { router: api.router, validator };
}

/**
 * @typedef {object} SpecRequest
 * @property {string} method
 * @property {string} path    URL path, without query
 * @property {Record<string, string>} query
 * @property {Record<string, string | string[] | undefined>} headers
 * @property {unknown} body   parsed JSON body, or undefined when there is none
 */

/**
 * @typedef {object} Matched  An operation of the spec that a request matched.
 * @property {string} operationId
 * @property {{ validateResponse: (body: unknown, op: string, status: number) => { errors?: unknown[] | null } }} validator
 * @property {object} operation
 */

/** One ajv error as a line: where, then what. @param {{ instancePath?: string, message?: string, params?: object }} e */
function describe(e) {
  const extra = e.params && 'allowedValues' in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
  return `${e.instancePath === '' || e.instancePath === undefined ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'}${extra}`;
}

// An empty path segment is how the SDK asks for the newest version
// (`GET /keys/NAME/`); the spec's parameter text says the version "is
// optional", but a template segment never matches an empty string, so an
// empty segment is matched as a version named "-" (no real version is).
const matchPath = (path) => path.split('/').map((s, i) => (i > 0 && s === '' ? '-' : s)).join('/');

/**
 * Loads both spec files and returns the checks the stand-in runs. Throws
 * when a file is missing or does not convert to valid OpenAPI 3.0.
 * @param {string} [dir]
 * @returns {Promise<{ request: (r: SpecRequest) => { matched?: Matched, errors: string[] },
 *   response: (m: Matched, status: number, body: unknown) => string[] }>}
 */
export async function loadKeyVaultSpec(dir = defaultSpecDir()) {
  const files = ['keys.json', 'secrets.json'].map((f) => join(dir, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(`Key Vault OpenAPI files not found: ${missing.join(', ')}; the clone needs ../shared beside it (or set SEALBOX_KEYVAULT_SPEC_DIR)`);
  }
  const apis = await Promise.all(files.map(async (f) => backendFor(await toOpenApi3(f))));
  return {
    request: (r) => checkRequest(apis, r),
    response: (m, status, body) => checkResponse(m, status, body),
  };
}

/**
 * Finds the request's operation in either document and validates the
 * request (path, query and header parameters, body) against it.
 * @param {{ router: object, validator: object }[]} apis
 * @param {SpecRequest} r
 */
function checkRequest(apis, r) {
  const req = { method: r.method.toLowerCase(), path: matchPath(r.path), query: r.query, headers: r.headers, body: r.body };
  const found = matchOperation(apis, req);
  if (found === undefined) return { errors: [`no operation in keys.json or secrets.json matches ${r.method} ${r.path}`] };
  const { validator, operation } = found;
  const result = validator.validateRequest(req, operation);
  return { matched: { validator, operation, operationId: operation.operationId }, errors: (result.errors ?? []).map(describe) };
}

// Matching tries every path template as a regular expression; the same key
// version is called hundreds of times in a run, so matches are remembered.
const matches = new Map();

/** @param {{ router: object, validator: object }[]} apis @param {{ method: string, path: string }} req */
function matchOperation(apis, req) {
  const key = `${req.method} ${req.path}`;
  if (!matches.has(key)) {
    if (matches.size > 10_000) matches.clear();
    const api = apis.find((a) => a.router.matchOperation(req) !== undefined);
    matches.set(key, api && { validator: api.validator, operation: api.router.matchOperation(req) });
  }
  return matches.get(key);
}

/**
 * Validates a response body against the operation's response for `status`.
 * A success status must be declared by the operation itself (`default` is
 * the error response, KeyVaultError).
 * @param {Matched} m
 * @param {number} status
 * @param {unknown} body
 * @returns {string[]}
 */
function checkResponse(m, status, body) {
  const declared = Object.keys(m.operation.responses ?? {});
  if (status < 400 && !declared.includes(String(status))) {
    return [`status ${String(status)} is not a response of ${m.operationId} (it declares ${declared.join(', ')})`];
  }
  if (status >= 400 && !declared.includes(String(status)) && !declared.includes('default')) {
    return [`status ${String(status)} is not a response of ${m.operationId}`];
  }
  const result = m.validator.validateResponse(body, m.operationId, status);
  return (result.errors ?? []).map(describe);
}
