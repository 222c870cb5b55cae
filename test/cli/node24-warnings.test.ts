import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ROOT, ensureBuilt, keygen, sealbox, sealboxAsync, tempDir } from '../helpers/cli.js';

// The npm bundle on Node 24 prints nothing but its own output. Node 24
// warns of DEP0040 (the built-in punycode, required by whatwg-url and tr46
// under client-node's node-fetch) and DEP0169 (url.parse, which node-fetch
// calls for each request) unless the caller is under node_modules; the
// bundle has no node_modules, so scripts/lib/bundle-fixes.mjs bundles the
// userland punycode and gives node-fetch a WHATWG-based parse instead.

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: node24-warnings-value}\n';

/** Node 24: this one when the tests run on it (CI's second pass), else the cached one (scripts/node24.sh installs it once). */
function node24(): string {
  if (Number(process.versions.node.split('.')[0]) >= 24) return process.execPath;
  const dir = execFileSync('bash', [join(ROOT, 'scripts/node24.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return join(dir, 'node');
}

/** A TCP port on 127.0.0.1 that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let node: string;
let dir: string;
let cleanup: () => void;
let cert: string;

beforeAll(() => {
  ensureBuilt();
  node = node24();
  ({ dir, cleanup } = tempDir('node24-warnings'));
  ({ cert } = keygen(dir, 'cluster'));
}, 300_000);
afterAll(() => {
  cleanup();
});

describe('the npm bundle on Node 24', () => {
  it.each([
    ['--help', ['--help']],
    ['controller --help', ['controller', '--help']],
    ['seal --cert', ['seal', '--cert', '<cert>']],
  ])('prints nothing on stderr for %s', (_name, args) => {
    const r = sealbox(args.map((a) => (a === '<cert>' ? cert : a)), { node, input: SECRET });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toBe('');
  });

  it('prints only its own error when it fetches the certificate through the Kubernetes client (punycode and url.parse on that path)', async () => {
    const port = await closedPort();
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${String(port)}"}}]`,
      'users: [{name: u, user: {token: not-a-real-token}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'));
    const r = await sealboxAsync(['seal', '--kubeconfig', kubeconfig], { node, input: SECRET });
    expect(r.status).toBe(EXIT_CODES.KUBE);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: cannot fetch the certificate: /);
    // node-fetch names the request by the URL it parsed: the replacement parse keeps it whole
    expect(lines[0]).toContain(`request to https://127.0.0.1:${String(port)}/api/v1/namespaces/sealbox-system/configmaps/sealbox-certs failed`);
  }, 120_000);
});
