// The single executable (`npm run build:binary`, docs/BENCHMARKS.md) run as a
// user without Node would run it: `sealbox` found on a PATH that holds only
// the binary, every other environment variable cleared. `npm run test:binary`
// builds it, then runs this file; SEALBOX_TEST_BINARY names another build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { checkedSync } from '../helpers/child.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const BINARY = process.env.SEALBOX_TEST_BINARY ?? join(ROOT, 'dist', 'binary', 'sealbox');
const MARKER = 'binary-plaintext-7f3e';
const SECRET = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata: {name: db, namespace: prod}',
  'stringData:',
  `  password: ${MARKER}-password`,
  `  username: ${MARKER}-user`,
  '',
].join('\n');

interface Doc { kind: string; data?: Record<string, string>; spec?: { encryptedData: Record<string, string> } }
const docsOf = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);

let dir: string;
let cleanup: () => void;
let env: NodeJS.ProcessEnv;

/** Runs `sealbox ARGS` by name, with only the temporary PATH and HOME. */
function sealbox(args: readonly string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = checkedSync(`sealbox ${args.join(' ')}`, spawnSync('sealbox', args, { cwd: dir, env, input, encoding: 'utf8', timeout: 60_000 }));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: readonly string[], input = ''): string {
  const r = sealbox(args, input);
  if (r.status !== 0) throw new Error(`sealbox ${args.join(' ')} exited ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build:binary (npm run test:binary builds it, then runs this file)`);
  ({ dir, cleanup } = tempDir('binary'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(BINARY, join(bin, 'sealbox'));
  mkdirSync(join(dir, 'home'));
  env = { PATH: bin, HOME: join(dir, 'home') };
  writeFileSync(join(dir, 'secret.yaml'), SECRET);
});
afterAll(() => {
  cleanup();
});

describe('the single executable', () => {
  it('is a native executable, and no node is on the PATH it runs with', () => {
    expect(readFileSync(BINARY).subarray(0, 4)).toEqual(Buffer.from('\x7fELF', 'latin1'));
    const node = spawnSync('node', ['-e', '0'], { env, cwd: dir });
    expect(node.error).toMatchObject({ code: 'ENOENT' });
  });

  it('prints the version of package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(ok(['--version']).trim()).toBe(pkg.version);
  });

  it('runs keygen, seal, unseal and verify with no node installed', () => {
    ok(['keygen', '--bits', '2048', '--key-out', 'key.pem', '--cert-out', 'cert.pem']);
    const sealed = ok(['seal', '--cert', 'cert.pem', '-f', 'secret.yaml']);
    expect(sealed).not.toContain(MARKER);
    const [doc] = docsOf(sealed);
    expect(doc?.kind).toBe('SealedSecret');
    expect(Object.keys(doc?.spec?.encryptedData ?? {}).sort()).toEqual(['password', 'username']);
    writeFileSync(join(dir, 'sealed.yaml'), sealed);

    const [secret] = docsOf(ok(['unseal', '--key', 'key.pem', '-f', 'sealed.yaml']));
    const values = Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    expect(values).toEqual({ password: `${MARKER}-password`, username: `${MARKER}-user` });

    expect(sealbox(['verify', 'sealed.yaml']).status).toBe(0);
  });

  it('reads standard input and draws fresh randomness on each start (none is baked into the snapshot)', () => {
    ok(['keygen', '--bits', '2048', '--key-out', 'k2.pem', '--cert-out', 'c2.pem']);
    const first = docsOf(ok(['seal', '--cert', 'c2.pem'], SECRET))[0]?.spec?.encryptedData;
    const second = docsOf(ok(['seal', '--cert', 'c2.pem'], SECRET))[0]?.spec?.encryptedData;
    expect(first?.password).toBeDefined();
    expect(first?.password).not.toBe(second?.password);
    expect(readFileSync(join(dir, 'c2.pem'), 'utf8')).not.toBe(readFileSync(join(dir, 'cert.pem'), 'utf8'));
  });

  it('loads the Kubernetes client from the dependencies kept out of the snapshot, and reports an unreachable cluster', () => {
    writeFileSync(join(dir, 'kubeconfig'), [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
      'users: [{name: u, user: {token: not-a-real-token}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'));
    const r = sealbox(['seal', '--kubeconfig', 'kubeconfig', '-f', 'secret.yaml']);
    expect(r.stderr).toContain('API server unreachable');
    expect(r.status).toBe(EXIT_CODES.KUBE);
    expect(r.stdout).toBe('');
  });

  it('finds the plaintext Secret that verify exists for, and exits with its documented code', () => {
    const r = sealbox(['verify', 'secret.yaml']);
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout + r.stderr).toContain('secret.yaml');
    expect(r.stdout + r.stderr).not.toContain(MARKER);
  });
});
