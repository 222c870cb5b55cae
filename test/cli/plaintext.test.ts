// Issue 11, items 1 and 5b, through the built binary: no plaintext leaves
// `seal` (or `--merge-into`, folder mode, `edit`) in a cleartext field,
// `verify` applies the same rules, and YAML that kubectl may read
// differently is refused in every input.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

const FAKE_EDITOR = fileURLToPath(new URL('../chaos/fake-editor.mjs', import.meta.url));
const MARKER = 'plaintext-marker-91ee';
const B64 = Buffer.from(MARKER).toString('base64');
const plain = (name: string, value = MARKER): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: ${value}}\n`;

/** What `kubectl get secret db -o yaml` prints after `kubectl apply` of a stringData Secret. */
const FROM_CLUSTER = `apiVersion: v1
data:
  password: ${B64}
kind: Secret
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Secret","metadata":{"annotations":{},"name":"db","namespace":"prod"},"stringData":{"password":"${MARKER}"}}
  creationTimestamp: "2021-09-16T22:57:56Z"
  name: db
  namespace: prod
  resourceVersion: "42090"
  uid: 6f5c0289-4f5f-4933-8a18-bc780091ca4d
type: Opaque
`;

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('plaintext'));
  a = keygen(dir, 'a');
}, 120_000);
afterAll(() => {
  cleanup();
});

function expectNoLeak(r: { stdout: string; stderr: string }): void {
  for (const out of [r.stdout, r.stderr]) {
    expect(out).not.toContain(MARKER);
    expect(out).not.toContain(B64);
  }
}

describe('sealbox seal keeps plaintext out of every cleartext field', () => {
  it('seals what kubectl get -o yaml returns without the last-applied copy or server fields', () => {
    const r = sealbox(['seal', '--cert', a.cert], { input: FROM_CLUSTER });
    expect(r.status).toBe(0);
    expectNoLeak(r);
    for (const field of ['last-applied', 'uid:', 'resourceVersion', 'creationTimestamp']) expect(r.stdout).not.toContain(field);
    expect(sealbox(['unseal', '--key', a.key], { input: r.stdout }).stdout).toContain(`password: ${B64}`);
  });

  it('seals every Secret of a SecretList and of a list nested in a list', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'SecretList', items: [{ kind: 'List', items: [JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'prod' }, stringData: { password: MARKER } }))] }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b', namespace: 'prod' }, data: { password: B64 } }] });
    const r = sealbox(['seal', '--cert', a.cert], { input: list });
    expect(r.status).toBe(0);
    expectNoLeak(r);
    expect(r.stdout.match(/kind: SealedSecret/g)).toHaveLength(2);
  });

  it('refuses a Secret nested in another object, writing nothing', () => {
    const out = join(dir, 'nested.yaml');
    const template = JSON.stringify({ apiVersion: 'template.openshift.io/v1', kind: 'Template', metadata: { name: 't' }, objects: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, stringData: { password: MARKER } }] });
    const r = sealbox(['seal', '--cert', a.cert, '-o', out], { input: template });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('holds a Secret with values at objects[0]');
    expectNoLeak(r);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses output where a value would stay readable, naming the field and not the value', () => {
    const out = join(dir, 'copied.yaml');
    const input = `${plain('db')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, annotations: {hint: "${Buffer.from(MARKER).toString('hex')}"}}\n`;
    const r = sealbox(['seal', '--cert', a.cert, '-o', out], { input });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('value "password" of secret "prod/db" appears hex-encoded in document 2, metadata.annotations.hint');
    expect(r.stdout).toBe('');
    expectNoLeak(r);
    expect(existsSync(out)).toBe(false);
  });

  it('checks every output of folder mode against every value before writing any', () => {
    const src = join(dir, 'tree');
    mkdirSync(join(src, 'b'), { recursive: true });
    writeFileSync(join(src, 'a.yaml'), plain('db'));
    writeFileSync(join(src, 'b', 'b.yaml'), `apiVersion: v1\nkind: Secret\nmetadata: {name: api, namespace: prod, labels: {copy: ${B64.replace(/=+$/, '')}}}\nstringData: {token: other-value-1234}\n`);
    const out = join(dir, 'tree-out');
    const r = sealbox(['seal', '--cert', a.cert, '-f', src, '-o', out]);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toMatch(/value "password" of secret "prod\/db" appears base64-encoded in document 1, spec\.template\.metadata\.labels\.copy/);
    expectNoLeak(r);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a --merge-into whose target would show the merged value, leaving the file as it was', () => {
    const target = join(dir, 'merge-target.yaml');
    const sealed = sealbox(['seal', '--cert', a.cert], { input: `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod, annotations: {note: "${MARKER}"}}\nstringData: {user: someone-else}\n` }).stdout;
    writeFileSync(target, sealed);
    const r = sealbox(['seal', '--cert', a.cert, '--merge-into', target], { input: plain('db') });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('spec.template.metadata.annotations.note');
    expect(r.stderr).not.toContain(MARKER);
    expect(readFileSync(target, 'utf8')).toBe(sealed);
  });

  it('refuses an edit whose new value would show in the file, leaving the file as it was', () => {
    const file = join(dir, 'edit.yaml');
    const sealed = sealbox(['seal', '--cert', a.cert], { input: `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod, annotations: {note: "${MARKER}"}}\nstringData: {password: old-password-1}\n` }).stdout;
    writeFileSync(file, sealed);
    const r = sealbox(['edit', '--key', a.key, file], { env: { EDITOR: `${process.execPath} ${FAKE_EDITOR}`, SEALBOX_FAKE_EDITOR: `replace:old-password-1:${MARKER}` } });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('spec.template.metadata.annotations.note');
    expect(r.stderr).not.toContain(`password: ${MARKER}`);
    expect(readFileSync(file, 'utf8')).toBe(sealed);
  });
});

describe('sealbox verify applies the same rules', () => {
  it('flags a SecretList, a last-applied copy and a sealed template that carries one', () => {
    const root = join(dir, 'repo');
    mkdirSync(root, { recursive: true });
    const sealed = sealbox(['seal', '--cert', a.cert], { input: plain('db') }).stdout;
    writeFileSync(join(root, 'list.yaml'), `apiVersion: v1\nkind: SecretList\nitems:\n- ${plain('a').trimEnd().split('\n').join('\n  ')}\n`);
    writeFileSync(join(root, 'emptied.yaml'), FROM_CLUSTER.replace(/^data:\n.*\n/m, ''));
    writeFileSync(join(root, 'sealed.yaml'), sealed.replace('  template:\n', '  template:\n    metadata:\n      annotations:\n        kubectl.kubernetes.io/last-applied-configuration: "{}"\n'));
    const r = sealbox(['verify', root]);
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout).toContain('list.yaml:4: plaintext Secret with 1 value(s)');
    expect(r.stdout).toContain('emptied.yaml:1: plaintext Secret with values at metadata.annotations."kubectl.kubernetes.io/last-applied-configuration" (JSON)');
    expect(r.stdout).toMatch(/sealed\.yaml:1: sealed secret carries metadata .*spec\.template annotation kubectl\.kubernetes\.io\/last-applied-configuration/);
    expectNoLeak(r);
  });
});

describe('YAML that kubectl may read differently is refused in every input', () => {
  const MERGE = `%YAML 1.1\n---\nbase: &base {password: ${MARKER}}\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  <<: *base\n`;

  it('seal refuses a %YAML 1.1 document with a merge key', () => {
    const r = sealbox(['seal', '--cert', a.cert], { input: MERGE });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('a %YAML directive');
    expectNoLeak(r);
  });

  it('seal refuses a merge key without a directive, and a !!binary value', () => {
    for (const [input, reason] of [[MERGE.replace('%YAML 1.1\n---\n', ''), 'a merge key (<<)'], [plain('db').replace(/stringData.*/, 'data: {password: !!binary aGVsbG8=}'), 'the tag "tag:yaml.org,2002:binary"']] as const) {
      const r = sealbox(['seal', '--cert', a.cert], { input });
      expect(r.status).toBe(EXIT_CODES.INPUT);
      expect(r.stderr).toContain(reason);
    }
  });

  it('unseal and --merge-into refuse a sealed file with a merge key', () => {
    const sealed = sealbox(['seal', '--cert', a.cert], { input: plain('db') }).stdout;
    const merged = `defaults: &d {scope: strict}\n${sealed.replace('spec:\n  scope: strict\n', 'spec:\n  <<: *d\n')}`;
    const r = sealbox(['unseal', '--key', a.key], { input: merged });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('a merge key (<<)');
    const target = join(dir, 'merge-key.yaml');
    writeFileSync(target, merged);
    const m = sealbox(['seal', '--cert', a.cert, '--merge-into', target], { input: plain('db', 'another-value-1') });
    expect(m.status).toBe(EXIT_CODES.INPUT);
    expect(readFileSync(target, 'utf8')).toBe(merged);
  });

  it('seal refuses a .sealbox.yaml with a merge key', () => {
    const repo = join(dir, 'config-repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    writeFileSync(join(repo, '.sealbox.yaml'), `base: &r {recipients: ["cert:${a.cert}"]}\nrules:\n  - <<: *r\n`);
    writeFileSync(join(repo, 's.yaml'), plain('db'));
    const r = sealbox(['seal', '-f', join(repo, 's.yaml')], { cwd: repo });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('.sealbox.yaml document 1: a merge key (<<)');
  });
});
