import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { ROOT, ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

const MARKER = 'plaintext-marker-c11a';
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xa0, 0xa1]);
const INPUT = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata: {name: db, namespace: prod, labels: {app: db}}',
  'type: kubernetes.io/basic-auth',
  'data:',
  `  username: ${Buffer.from(`${MARKER}-user`).toString('base64')}`,
  `  blob: ${BINARY.toString('base64')}`,
  '  empty: ""',
  'stringData:',
  `  password: ${MARKER}-password`,
  '---',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: {name: settings, namespace: prod}',
  'data: {mode: fast}',
  '---',
  'apiVersion: v1',
  'kind: Secret',
  'metadata: {name: api, namespace: prod}',
  'stringData:',
  `  token: ${MARKER}-token`,
  '',
].join('\n');

type Doc = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: { encryptedData: Record<string, string>; dataKeys: { recipients: { id: string }[] }[] } };
const docsOf = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);
const decoded = (d: Doc | undefined): Record<string, Buffer> => Object.fromEntries(Object.entries(d?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let b: { key: string; cert: string };
let input: string;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('roundtrip'));
  a = keygen(dir, 'a');
  b = keygen(dir, 'b');
  input = join(dir, 'secrets.yaml');
  writeFileSync(input, INPUT);
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('sealbox keygen', () => {
  it('writes the private key with mode 0600 and the certificate readable', () => {
    expect(statSync(a.key).mode & 0o777).toBe(0o600);
    expect(statSync(a.cert).mode & 0o077).not.toBe(0);
  });

  it('prints the fingerprint that cert inspect and the sealed file use', () => {
    const { key, cert } = { key: join(dir, 'c.key.pem'), cert: join(dir, 'c.cert.pem') };
    const r = sealbox(['keygen', '--bits', '2048', '--key-out', key, '--cert-out', cert]);
    expect(r.status).toBe(0);
    const der = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
    const fp = createHash('sha256').update(der).digest('hex');
    expect(r.stderr).toContain(`fingerprint ${fp}`);
    expect(sealbox(['cert', 'inspect', cert]).stdout).toContain(`fingerprint: ${fp}`);
    const json = JSON.parse(sealbox(['cert', 'inspect', cert, '--output', 'json']).stdout) as { fingerprint: string; keyBits: number; expired: boolean };
    expect(json).toMatchObject({ fingerprint: fp, keyBits: 2048, expired: false });
  });

  it('refuses to overwrite an existing key without --force, leaving it intact', () => {
    const before = readFileSync(a.key);
    const r = sealbox(['keygen', '--bits', '2048', '--key-out', a.key, '--cert-out', join(dir, 'new.pem')]);
    expect(r.status).toBe(EXIT_CODES.IO);
    expect(r.stderr).toMatch(/^error: .*a\.key\.pem exists; pass --force to overwrite it\n$/);
    expect(readFileSync(a.key)).toEqual(before);
  });

  it('makes 4096-bit keys by default', () => {
    const cert = join(dir, 'default.cert.pem');
    expect(sealbox(['keygen', '--key-out', join(dir, 'default.key.pem'), '--cert-out', cert]).status).toBe(0);
    expect(sealbox(['cert', 'inspect', cert]).stdout).toContain('key:         RSA 4096 bits');
  }, 60_000);

  it.each([
    { args: ['keygen', '--bits', '1024', '--key-out', 'k', '--cert-out', 'c'], code: EXIT_CODES.INPUT },
    { args: ['keygen', '--bits', 'many', '--key-out', 'k', '--cert-out', 'c'], code: 2 },
    { args: ['keygen', '--key-out', 'k'], code: 2 },
  ])('refuses $args with exit code $code', ({ args, code }) => {
    const r = sealbox(args, { cwd: dir });
    expect(r.status).toBe(code);
  });
});

describe('sealbox seal and unseal', () => {
  it('round-trip a multi-document file with data (bytes not UTF-8), stringData and other objects', () => {
    const sealed = join(dir, 'sealed.yaml');
    const out = join(dir, 'unsealed.yaml');
    expect(sealbox(['seal', '--cert', a.cert, '-f', input, '-o', sealed]).status).toBe(0);
    const text = readFileSync(sealed, 'utf8');
    expect(text).not.toContain(MARKER);
    expect(docsOf(text).map((d) => d.kind)).toEqual(['SealedSecret', 'ConfigMap', 'SealedSecret']);
    const r = sealbox(['unseal', '--key', a.key, '-f', sealed, '-o', out]);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const [db, cm, api] = docsOf(readFileSync(out, 'utf8'));
    expect(db).toMatchObject({ kind: 'Secret', type: 'kubernetes.io/basic-auth', metadata: { name: 'db', namespace: 'prod', labels: { app: 'db' } } });
    expect(decoded(db)).toEqual({ username: Buffer.from(`${MARKER}-user`), blob: BINARY, empty: Buffer.alloc(0), password: Buffer.from(`${MARKER}-password`) });
    expect(cm).toEqual(parse(INPUT.split('---\n')[1] ?? ''));
    expect(decoded(api)).toEqual({ token: Buffer.from(`${MARKER}-token`) });
  });

  it('reads standard input and writes standard output', () => {
    const sealed = sealbox(['seal', '--cert', a.cert], { input: INPUT });
    expect(sealed.status).toBe(0);
    const r = sealbox(['unseal', '--key', a.key, '-f', '-'], { input: sealed.stdoutBytes });
    expect(r.status).toBe(0);
    expect(decoded(docsOf(r.stdout)[2])).toEqual({ token: Buffer.from(`${MARKER}-token`) });
  });

  it('writes JSON on request', () => {
    const r = sealbox(['seal', '--cert', a.cert, '--format', 'json'], { input: INPUT });
    const list = JSON.parse(r.stdout) as { kind: string; items: Doc[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((d) => d.kind)).toEqual(['SealedSecret', 'ConfigMap', 'SealedSecret']);
    const u = sealbox(['unseal', '--key', a.key, '--format', 'json'], { input: r.stdout });
    expect(decoded((JSON.parse(u.stdout) as { items: Doc[] }).items[0]).blob).toEqual(BINARY);
  });

  it('gives different ciphertexts when the same Secret is sealed twice', () => {
    const first = docsOf(sealbox(['seal', '--cert', a.cert, '-f', input]).stdout)[0]?.spec?.encryptedData ?? {};
    const second = docsOf(sealbox(['seal', '--cert', a.cert, '-f', input]).stdout)[0]?.spec?.encryptedData ?? {};
    expect(Object.keys(first)).toHaveLength(4);
    for (const k of Object.keys(first)) expect(second[k]).not.toBe(first[k]);
  });

  it('seals one Secret for two --cert recipients, and either key unseals it', () => {
    const r = sealbox(['seal', '--cert', a.cert, '--cert', b.cert, '-f', input]);
    expect(docsOf(r.stdout)[0]?.spec?.dataKeys[0]?.recipients).toHaveLength(2);
    for (const key of [a.key, b.key]) {
      const u = sealbox(['unseal', '--key', key], { input: r.stdout });
      expect(u.status).toBe(0);
      expect(decoded(docsOf(u.stdout)[0]).blob).toEqual(BINARY);
    }
  });

  it('seals values given with --from-literal and --from-file', () => {
    const file = join(dir, 'blob.bin');
    writeFileSync(file, BINARY);
    const r = sealbox(['seal', '--cert', a.cert, '--name', 'lit', '--namespace', 'dev', '--from-literal', `user=${MARKER}=x`, '--from-file', `blob=${file}`, '--from-file', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(MARKER);
    const [secret] = docsOf(sealbox(['unseal', '--key', a.key], { input: r.stdout }).stdout);
    expect(secret?.metadata).toEqual({ name: 'lit', namespace: 'dev' });
    expect(decoded(secret)).toEqual({ user: Buffer.from(`${MARKER}=x`), blob: BINARY, 'blob.bin': BINARY });
  });

  it.each([
    { what: 'an unknown scope', args: ['seal', '--cert', 'CERT', '--scope', 'global'], code: EXIT_CODES.INPUT, message: '--scope global' },
    { what: 'a missing certificate file', args: ['seal', '--cert', 'nope.pem'], code: EXIT_CODES.IO, message: 'cannot read nope.pem: no such file' },
    { what: 'a private key given as certificate', args: ['seal', '--cert', 'KEY'], code: EXIT_CODES.INPUT, message: 'not a PEM X.509 certificate' },
    { what: 'unseal without --key', args: ['unseal', '-f', 'SEALED'], code: EXIT_CODES.INPUT, message: 'no keys: pass --key' },
    { what: 'a certificate given as key', args: ['unseal', '--key', 'CERT', '-f', 'SEALED'], code: EXIT_CODES.INPUT, message: 'not a PEM RSA private key' },
    { what: 'an unknown flag', args: ['seal', '--frobnicate'], code: 2, message: "unknown option '--frobnicate'" },
    { what: 'an unknown command', args: ['frobnicate'], code: 2, message: "unknown command 'frobnicate'" },
  ])('fails on $what with exit code $code', ({ args, code, message }) => {
    const sealed = (): string => {
      const path = join(dir, 'for-errors.yaml');
      writeFileSync(path, sealbox(['seal', '--cert', a.cert, '-f', input]).stdout);
      return path;
    };
    const r = sealbox(args.map((x) => (x === 'KEY' ? a.key : x === 'CERT' ? a.cert : x === 'SEALED' ? sealed() : x)), { input: INPUT, cwd: dir });
    expect(r.status).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(MARKER);
    expect(r.stdout).toBe('');
  });
});

describe('the sealbox executable', () => {
  it('runs as "npx sealbox --help" from the package', () => {
    const r = spawnSync('npx', ['--no-install', 'sealbox', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: sealbox');
    for (const command of ['keygen', 'seal', 'unseal', 'cert', 'verify']) expect(r.stdout).toContain(command);
  });

  it.each(['keygen', 'seal', 'unseal', 'verify'])('documents the flags of "%s"', (command) => {
    const r = sealbox([command, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Usage: sealbox ${command}`);
  });
});
