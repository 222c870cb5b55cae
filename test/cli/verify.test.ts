import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

const MARKER = 'plaintext-marker-0e77';
const plain = (name: string): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: ${MARKER}}\n`;
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n';

let dir: string;
let cleanup: () => void;
let sealed: string;

/** Writes `files` (relative path → content) under a new folder in the temp dir. */
function tree(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('verify'));
  const a = keygen(dir, 'a');
  sealed = sealbox(['seal', '--cert', a.cert], { input: plain('db') }).stdout;
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('sealbox verify', () => {
  it('passes a clean folder with exit code 0', () => {
    const root = tree('clean', {
      'apps/db/sealed.yaml': sealed,
      'apps/db/config.yml': configMap,
      'apps/db/both.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'empty' } }] }),
      'README.md': plain('ignored-not-yaml'),
      'notes.yaml': 'this: [is not: valid yaml\n',
      '.git/objects/x.yaml': plain('ignored-in-git'),
      'node_modules/pkg/secret.yaml': plain('ignored-in-node-modules'),
    });
    const r = sealbox(['verify', root]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ok: 4 file(s) checked, no problems\n');
  });

  it('flags a plaintext Secret with exit code 10 and one line per problem naming file and line', () => {
    const moved = sealed.replace('namespace: prod', 'namespace: staging');
    const root = tree('dirty', {
      'a/mixed.yaml': `${configMap}---\n${plain('leak')}`,
      'b/moved.yaml': moved,
      'c/fine.yaml': sealed,
      'd/plain.json': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'j' }, data: { k: 'dg==' } }),
    });
    const r = sealbox(['verify', root]);
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`${join(root, 'a/mixed.yaml')}:6: plaintext Secret with 1 value(s): seal it with "sealbox seal" and commit only the sealed file`);
    expect(lines[1]).toMatch(new RegExp(`^${join(root, 'b/moved.yaml')}:1: .*is bound to namespace "prod" but was found in "staging"`));
    expect(lines[2]).toMatch(new RegExp(`^${join(root, 'd/plain.json')}:1: plaintext Secret with 1 value`));
    expect(r.stderr).toBe('error: 3 problem(s) in 4 file(s) checked\n');
    expect(r.stdout + r.stderr).not.toContain(MARKER);
  });

  it('checks the files it is given, as a pre-commit hook passes them', () => {
    const root = tree('hook', { 'ok.yaml': sealed, 'leak.yaml': plain('leak') });
    expect(sealbox(['verify', 'ok.yaml'], { cwd: root }).status).toBe(0);
    const r = sealbox(['verify', 'ok.yaml', 'leak.yaml'], { cwd: root });
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout).toMatch(/^leak\.yaml:1: plaintext Secret/);
  });

  it('checks the current folder by default', () => {
    const root = tree('default', { 'x/leak.yml': plain('leak') });
    const r = sealbox(['verify'], { cwd: root });
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout).toMatch(/^x\/leak\.yml:1: /);
  });

  it('reports a malformed file that claims to hold a Secret', () => {
    const root = tree('malformed', { 'broken.yaml': `apiVersion: v1\nkind: Secret\nstringData: {password: ${MARKER}\n` });
    const r = sealbox(['verify', root]);
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout).toMatch(/^\S*broken\.yaml:4: document 1: invalid YAML at line 4, column \d+/);
    expect(r.stdout).not.toContain(MARKER);
  });

  it('reports the line of each document and of each item of a List', () => {
    const list = [
      'apiVersion: v1', // 6
      'kind: List',
      'items:',
      '  - apiVersion: v1', // 9
      '    kind: Secret',
      '    metadata: {name: one}',
      '    data: {a: YQ==}',
      '  - apiVersion: v1', // 13
      '    kind: Secret',
      '    metadata: {name: two}',
      '    data: {b: Yg==}',
    ].join('\n');
    const root = tree('lines', { 'list.yaml': `${configMap}---\n${list}\n---\n# a comment\n${plain('third')}` });
    const r = sealbox(['verify', 'list.yaml'], { cwd: root });
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout.trimEnd().split('\n').map((l) => l.split(': ')[0])).toEqual(['list.yaml:9', 'list.yaml:13', 'list.yaml:19']);
  });

  it('skips Helm chart templates and unrenderable template files, saying so, and still checks the rest', () => {
    const tpl = 'apiVersion: v1\nkind: Secret\nmetadata: {name: {{ .Release.Name }}}\ndata:\n  password: {{ .Values.password | b64enc }}\n';
    const root = tree('helm', {
      'chart/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n',
      'chart/templates/secret.yaml': tpl,
      'chart/templates/quoted.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: q}\nstringData: {password: "{{ .Values.password }}"}\n',
      'chart/values.yaml': 'password: ""\n',
      'loose/tpl.yaml': tpl,
      'ok.yaml': sealed,
    });
    const r = sealbox(['verify', '.'], { cwd: root });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('skipped chart/templates/quoted.yaml: Helm chart template');
    expect(r.stderr).toContain('skipped chart/templates/secret.yaml: Helm chart template');
    expect(r.stderr).toContain('skipped loose/tpl.yaml: template markup');
    expect(r.stderr).toMatch(/ok: 3 file\(s\) checked, 3 template\(s\) skipped, no problems\n$/);
    writeFileSync(join(root, 'chart/leak.yaml'), plain('leak'));
    expect(sealbox(['verify', '.'], { cwd: root }).stdout).toMatch(/^chart\/leak\.yaml:1: plaintext Secret/);
  });

  it('leaves out what --exclude matches: folder names anywhere, and path patterns', () => {
    const root = tree('exclude', { 'vendor/x/leak.yaml': plain('a'), 'legacy/a/b.yml': plain('b'), 'apps/leak.yaml': plain('c') });
    const all = sealbox(['verify'], { cwd: root });
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(3);
    const some = sealbox(['verify', '--exclude', 'vendor', '--exclude', 'legacy/**'], { cwd: root });
    expect(some.status).toBe(EXIT_CODES.FINDINGS);
    expect(some.stdout).toMatch(/^apps\/leak\.yaml:1: [^\n]*\n$/);
    expect(sealbox(['verify', '--exclude', 'vendor', '--exclude', 'legacy', '--exclude', '*.yaml'], { cwd: root }).status).toBe(0);
  });

  it('prints a JSON report with --output json', () => {
    const root = tree('json', { 'leak.yaml': `${configMap}---\n${plain('x')}`, 'ok.yaml': sealed, 'c/Chart.yaml': 'name: c\n', 'c/templates/t.yaml': plain('t') });
    const r = sealbox(['verify', '--output', 'json'], { cwd: root });
    expect(r.status).toBe(EXIT_CODES.FINDINGS);
    expect(JSON.parse(r.stdout)).toEqual({
      checked: 3,
      skipped: [{ path: 'c/templates/t.yaml', reason: 'Helm chart template' }],
      findings: [{ path: 'leak.yaml', line: 6, document: 2, message: expect.stringMatching(/^plaintext Secret with 1 value/) as unknown }],
      hints: [],
    });
    expect(r.stdout).not.toContain(MARKER);
    const clean = sealbox(['verify', '--output', 'json', 'ok.yaml'], { cwd: root });
    expect(clean.status).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({ checked: 1, skipped: [], findings: [], hints: [] });
  });

  it('refuses --staged outside a git repository, and with paths', () => {
    const r = sealbox(['verify', '--staged'], { cwd: dir });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toMatch(/^error: verify --staged: .* is not inside a git repository/);
    expect(sealbox(['verify', '--staged', 'x.yaml'], { cwd: dir }).stderr).toMatch(/pass no paths/);
  });

  it('fails with exit code 9 on a path that does not exist', () => {
    const r = sealbox(['verify', join(dir, 'missing')]);
    expect(r.status).toBe(EXIT_CODES.IO);
    expect(r.stderr).toMatch(/^error: cannot read .*missing: no such file or folder\n$/);
  });
});
