import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { ROOT, ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

// A failed `sealbox edit` does not throw the user's changes away: the editor
// opens again with the error as a comment at the top (as kubectl edit and
// sops do); unchanged or empty, the edit is abandoned and nothing written.

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  password: old-password\n  user: admin\n';
const EDITOR = `${process.execPath} ${join(ROOT, 'test', 'helpers', 'scripted-editor.mjs')}`;

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let original: string;
let n = 0;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('edit-reopen'));
  a = keygen(dir, 'a');
  original = sealbox(['seal', '--cert', a.cert], { input: SECRET }).stdout;
}, 120_000);
afterAll(() => {
  cleanup();
});

/** Runs `sealbox edit` on a fresh copy of the sealed file with the editor following `steps`. */
function edit(steps: unknown[]): { status: number | null; stderr: string; file: string; seen: string[] } {
  const id = `e${n++}`;
  const file = join(dir, `${id}.yaml`);
  writeFileSync(file, original);
  const script = join(dir, `${id}.json`);
  writeFileSync(script, JSON.stringify(steps));
  const r = sealbox(['edit', '--key', a.key, file], { env: { EDITOR, VISUAL: EDITOR, SEALBOX_SCRIPT: script }, timeoutMs: 60_000 });
  const seen: string[] = [];
  for (let i = 0; existsSync(`${script}.${i}.seen`); i++) seen.push(readFileSync(`${script}.${i}.seen`, 'utf8'));
  return { status: r.status, stderr: r.stderr, file, seen };
}

function values(file: string): Record<string, string> {
  const r = sealbox(['unseal', '--key', a.key, '-f', file]);
  const doc = parseAllDocuments(r.stdout)[0]?.toJS() as { data: Record<string, string> };
  return Object.fromEntries(Object.entries(doc.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

describe('sealbox edit after a refused edit', () => {
  it('reopens invalid YAML with the error at the top and the changes kept, then saves the fix', () => {
    const r = edit([{ replace: ['password: old-password', 'password: new-password\n  broken: [unclosed'] }, { replace: ['\n  broken: [unclosed', ''] }]);
    expect(r.status).toBe(0);
    expect(r.seen).toHaveLength(2);
    expect(r.seen[1]).toMatch(/^# sealbox edit: the edit was not saved[^\n]*\n# error: the edited secret document 1: invalid YAML at line/);
    expect(r.seen[1]).toContain('password: new-password');
    expect(values(r.file)).toEqual({ password: 'new-password', user: 'admin' });
  });

  it('reopens a forbidden change (a rename) with the error, and saves once it is undone', () => {
    const r = edit([{ replace: ['name: db', 'name: db2'] }, { replace: ['name: db2', 'name: db'] }]);
    expect(r.status).toBe(0);
    expect(r.seen[1]).toContain('# error: the edited secret document 1: only values can change in sealbox edit');
    expect(r.seen[1]?.match(/sealbox edit: the edit was not saved/g)).toHaveLength(1);
  });

  it('keeps one error block when the edit is refused twice in a row', () => {
    const r = edit([{ replace: ['name: db', 'name: db2'] }, { replace: ['name: db2', 'name: db3'] }, { replace: ['name: db3', 'name: db'] }]);
    expect(r.status).toBe(0);
    expect(r.seen[2]?.match(/sealbox edit: the edit was not saved/g)).toHaveLength(1);
    expect(r.seen[2]).toContain('it was "prod/db"');
  });

  it('abandons the edit when the reopened file comes back unchanged, writing nothing', () => {
    const r = edit([{ replace: ['name: db', 'name: db2'] }, 'keep']);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toMatch(/^error: edit cancelled, nothing written: the file came back unchanged after the edited secret document 1: only values can change/);
    expect(readFileSync(r.file, 'utf8')).toBe(original);
  });

  it('abandons the edit when the file comes back empty, writing nothing', () => {
    const r = edit([{ replace: ['name: db', 'name: db2'] }, { write: '# nothing\n\n' }]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('edit cancelled: the file came back empty; nothing written');
    expect(readFileSync(r.file, 'utf8')).toBe(original);
  });

  it('writes nothing when the first opening comes back unchanged', () => {
    const r = edit(['keep']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('no changes; nothing written\n');
    expect(r.seen).toHaveLength(1);
    expect(readFileSync(r.file, 'utf8')).toBe(original);
  });
});
