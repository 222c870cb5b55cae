// `sealbox seal -f FOLDER`: many files in one process, all or nothing.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

const MARKER = 'folder-marker-7d2e';
const secret = (ns: string, name: string, value: string): string =>
  `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${ns}}\nstringData:\n  password: ${MARKER}-${value}\n`;

let dir: string;
let cleanup: () => void;
let k: { key: string; cert: string };

function tree(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tree(root, join(rel, e.name)) : [join(rel, e.name)]).sort();
}

function unsealedPasswords(file: string): string[] {
  const r = sealbox(['unseal', '--key', k.key, '-f', file]);
  expect(r.status, r.stderr).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => Buffer.from((d.toJS() as { data: { password: string } }).data.password, 'base64').toString());
}

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('folder'));
  k = keygen(dir, 'k');
  const src = join(dir, 'secrets');
  mkdirSync(join(src, 'team-a'), { recursive: true });
  mkdirSync(join(src, 'team-b', 'deep'), { recursive: true });
  mkdirSync(join(src, '.git'), { recursive: true });
  writeFileSync(join(src, 'team-a', 'db.yaml'), secret('a', 'db', 'a-db'));
  writeFileSync(join(src, 'team-a', 'api.yml'), `${secret('a', 'api', 'a-api')}---\n${secret('a', 'api2', 'a-api2')}`);
  writeFileSync(join(src, 'team-b', 'deep', 'cache.json'), JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cache', namespace: 'b' }, stringData: { password: `${MARKER}-b-cache` },
  }));
  writeFileSync(join(src, 'team-b', 'config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: b}\ndata: {mode: fast}\n');
  writeFileSync(join(src, 'team-b', 'notes.txt'), `not a manifest ${MARKER}`);
  writeFileSync(join(src, '.git', 'x.yaml'), secret('x', 'x', 'git'));
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('sealbox seal -f FOLDER', () => {
  it('with -o mirrors the folder file by file, each file sealed and unsealable', () => {
    const out = join(dir, 'sealed');
    const r = sealbox(['seal', '--cert', k.cert, '-f', join(dir, 'secrets'), '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(tree(out)).toEqual(['team-a/api.yml', 'team-a/db.yaml', 'team-b/config.yaml', 'team-b/deep/cache.yaml']);
    for (const f of tree(out)) expect(readFileSync(join(out, f), 'utf8')).not.toContain(MARKER);
    expect(unsealedPasswords(join(out, 'team-a/api.yml'))).toEqual([`${MARKER}-a-api`, `${MARKER}-a-api2`]);
    expect(unsealedPasswords(join(out, 'team-b/deep/cache.yaml'))).toEqual([`${MARKER}-b-cache`]);
    // non-Secret documents pass through
    expect(readFileSync(join(out, 'team-b/config.yaml'), 'utf8')).toContain('kind: ConfigMap');
  });

  it('without -o writes one stream of every sealed document, in file name order', () => {
    const r = sealbox(['seal', '--cert', k.cert, '-f', join(dir, 'secrets')]);
    expect(r.status, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'SealedSecret/api', 'SealedSecret/api2', 'SealedSecret/db', 'ConfigMap/c', 'SealedSecret/cache',
    ]);
    expect(r.stdout).not.toContain(MARKER);
  });

  it('writes nothing when one file is bad, and names that file', () => {
    const src = join(dir, 'with-bad');
    mkdirSync(src);
    writeFileSync(join(src, 'a-good.yaml'), secret('a', 'good', 'good'));
    writeFileSync(join(src, 'b-bad.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: bad\n');
    const out = join(dir, 'out-bad');
    const r = sealbox(['seal', '--cert', k.cert, '-f', src, '-o', out]);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('b-bad.yaml');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an output folder inside the input folder, and a file as output', () => {
    const inside = sealbox(['seal', '--cert', k.cert, '-f', join(dir, 'secrets'), '-o', join(dir, 'secrets', 'sealed')]);
    expect(inside.status).toBe(EXIT_CODES.INPUT);
    expect(inside.stderr).toContain('inside the folder');
    const file = join(dir, 'a-file.yaml');
    writeFileSync(file, '');
    const asFile = sealbox(['seal', '--cert', k.cert, '-f', join(dir, 'secrets'), '-o', file]);
    expect(asFile.status).toBe(EXIT_CODES.INPUT);
    expect(asFile.stderr).toContain('must be a folder');
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('matches .sealbox.yaml rules per output file', () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'plain', 'prod'), { recursive: true });
    mkdirSync(join(repo, 'plain', 'dev'), { recursive: true });
    // a repository: its root's config applies to the folders below it
    mkdirSync(join(repo, '.git'));
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const other = keygen(dir, 'other');
    writeFileSync(join(repo, '.sealbox.yaml'), [
      'rules:',
      '  - path: "sealed/prod/**"',
      `    recipients: ["cert:${k.cert}"]`,
      '  - path: "sealed/dev/**"',
      `    recipients: ["cert:${other.cert}"]`,
      '',
    ].join('\n'));
    writeFileSync(join(repo, 'plain', 'prod', 's.yaml'), secret('p', 's', 'prod'));
    writeFileSync(join(repo, 'plain', 'dev', 's.yaml'), secret('d', 's', 'dev'));
    const r = sealbox(['seal', '-f', 'plain', '-o', 'sealed'], { cwd: repo });
    expect(r.status, r.stderr).toBe(0);
    expect(unsealedPasswords(join(repo, 'sealed/prod/s.yaml'))).toEqual([`${MARKER}-prod`]);
    // the dev file is sealed for the other key only
    const dev = sealbox(['unseal', '--key', k.key, '-f', join(repo, 'sealed/dev/s.yaml')]);
    expect(dev.status).toBe(EXIT_CODES.NO_KEY);
    const devOk = sealbox(['unseal', '--key', other.key, '-f', join(repo, 'sealed/dev/s.yaml')]);
    expect(devOk.status, devOk.stderr).toBe(0);
  });

  it('refuses --merge-into and --name with a folder', () => {
    const r = sealbox(['seal', '--cert', k.cert, '-f', join(dir, 'secrets'), '--name', 'x']);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('folder');
  });
});
