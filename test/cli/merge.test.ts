import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

const MARKER = 'plaintext-marker-3b9d';
const INPUT = ['db', 'api']
  .map((name) => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData:\n  username: ${name}-user\n  password: ${name}-password\n  host: ${name}.example\n`)
  .join('---\n');

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let original: string;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('merge'));
  a = keygen(dir, 'a');
  original = join(dir, 'original.yaml');
  writeFileSync(original, sealbox(['seal', '--cert', a.cert], { input: INPUT }).stdout);
}, 120_000);
afterAll(() => {
  cleanup();
});

/** A copy of the sealed file to merge into. */
function target(name: string): string {
  const path = join(dir, name);
  copyFileSync(original, path);
  return path;
}

/** `git diff --no-index` between two files: numstat and the removed and added lines. */
function gitDiff(before: string, after: string): { added: number; removed: number; minus: string[]; plus: string[] } {
  const numstat = spawnSync('git', ['diff', '--no-index', '--numstat', before, after], { encoding: 'utf8' });
  const [added = '', removed = ''] = numstat.stdout.split('\t');
  const patch = spawnSync('git', ['diff', '--no-index', '-U0', before, after], { encoding: 'utf8' }).stdout.split('\n');
  return {
    added: Number(added || 0),
    removed: Number(removed || 0),
    minus: patch.filter((l) => l.startsWith('-') && !l.startsWith('---')),
    plus: patch.filter((l) => l.startsWith('+') && !l.startsWith('+++')),
  };
}

function unsealed(path: string): Record<string, Record<string, string>> {
  const r = sealbox(['unseal', '--key', a.key, '-f', path]);
  expect(r.status).toBe(0);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { metadata: { name: string }; data: Record<string, string> });
  return Object.fromEntries(docs.map((d) => [d.metadata.name, Object.fromEntries(Object.entries(d.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))]));
}

describe('sealbox seal --merge-into', () => {
  it('changes one value: git diff removes only that line and adds its new line and data-key group', () => {
    const path = target('one-value.yaml');
    const r = sealbox(['seal', '--cert', a.cert, '--merge-into', path, '--name', 'api', '--namespace', 'prod', '--from-literal', `password=${MARKER}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const diff = gitDiff(original, path);
    expect(diff.removed).toBe(1);
    expect(diff.minus).toHaveLength(1);
    expect(diff.minus[0]).toMatch(/^- {4}password: sb1:[0-9a-f]{16}:/);
    expect(diff.plus[0]).toMatch(/^\+ {4}password: sb1:[0-9a-f]{16}:/);
    expect(diff.plus.slice(1).join('\n')).toMatch(/^\+ {4}- group: [0-9a-f]{16}\n\+ {6}commitment: [0-9a-f]{64}\n\+ {6}binding: strict\/prod\/api\n/);
    expect(diff.added).toBe(diff.plus.length);
    expect(readFileSync(path, 'utf8')).not.toContain(MARKER);
    expect(unsealed(path)).toEqual({
      db: { username: 'db-user', password: 'db-password', host: 'db.example' },
      api: { username: 'api-user', password: MARKER, host: 'api.example' },
    });
  });

  it('adds a value without removing any line', () => {
    const path = target('add-value.yaml');
    expect(sealbox(['seal', '--cert', a.cert, '--merge-into', path, '--name', 'db', '--namespace', 'prod', '--from-literal', 'port=5432']).status).toBe(0);
    expect(gitDiff(original, path).removed).toBe(0);
    expect(unsealed(path).db?.port).toBe('5432');
  });

  it('takes the new values from a Secret manifest', () => {
    const path = target('from-manifest.yaml');
    const update = `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {host: db2.example}\n`;
    expect(sealbox(['seal', '--cert', a.cert, '--merge-into', path], { input: update }).status).toBe(0);
    const diff = gitDiff(original, path);
    expect(diff.minus).toHaveLength(1);
    expect(diff.minus[0]).toMatch(/^- {4}host: sb1:/);
    expect(unsealed(path).db).toEqual({ username: 'db-user', password: 'db-password', host: 'db2.example' });
  });

  it('replaces every value of a group and drops the group, touching no other resource', () => {
    const path = target('whole-group.yaml');
    const update = `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {username: u, password: p, host: h}\n`;
    expect(sealbox(['seal', '--cert', a.cert, '--merge-into', path], { input: update }).status).toBe(0);
    const [before, after] = [original, path].map((p) => readFileSync(p, 'utf8').split('---\n'));
    expect(after?.[1]).toBe(before?.[1]);
    const [db] = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as { spec: { dataKeys: unknown[] } });
    expect(db?.spec.dataKeys).toHaveLength(1);
    expect(unsealed(path).db).toEqual({ username: 'u', password: 'p', host: 'h' });
  });

  it('writes to -o when given, leaving the sealed file as it was', () => {
    const path = target('with-output.yaml');
    const out = join(dir, 'merged-elsewhere.yaml');
    expect(sealbox(['seal', '--cert', a.cert, '--merge-into', path, '-o', out, '--name', 'db', '--namespace', 'prod', '--from-literal', 'x=1']).status).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(original, 'utf8'));
    expect(unsealed(out).db?.x).toBe('1');
  });

  it('leaves no temporary file behind', () => {
    expect(readdirSync(dir).filter((f) => f.startsWith('.') || f.endsWith('.tmp'))).toEqual([]);
  });
});
