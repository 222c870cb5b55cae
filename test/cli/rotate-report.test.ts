import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

const plain = (name: string): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: pw-${name}}\n`;
// created in this order on purpose: not the order of their paths
const FILES = ['z.yaml', 'b/c.yaml', 'a.yaml', 'm/n/o.yaml'];

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let b: { key: string; cert: string };

/** A fresh folder of files sealed for `a`. */
function folder(name: string): string {
  const root = join(dir, name);
  for (const f of FILES) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    const r = sealbox(['seal', '--cert', a.cert, '-o', join(root, f)], { input: plain(f.replace(/\W/g, '-')) });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  return root;
}

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('rotate-report'));
  a = keygen(dir, 'a');
  b = keygen(dir, 'b');
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('sealbox rotate reports', () => {
  it('lists the changed files grouped and sorted by path, then one closing line', () => {
    folder('text');
    const r = sealbox(['rotate', 'text', '--to-cert', b.cert, '--key', a.key, '--concurrency', '4'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('rotated (4):\n  text/a.yaml\n  text/b/c.yaml\n  text/m/n/o.yaml\n  text/z.yaml\n');
    expect(r.stderr).toBe('4 rotated, 0 unchanged of 4 sealed file(s)\n');
    const again = sealbox(['rotate', 'text', '--to-cert', b.cert, '--key', a.key, '--check'], { cwd: dir });
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('prints nothing with --quiet, and only the error lines when a file fails', () => {
    const root = folder('quiet');
    const r = sealbox(['rotate', root, '--to-cert', b.cert, '--key', a.key, '--quiet']);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    writeFileSync(join(root, 'y-broken.yaml'), 'apiVersion: sealbox.dev/v1\nkind: SealedSecret\nmetadata: {name: x}\nspec: {}\n');
    const failed = sealbox(['rotate', root, '--to-cert', a.cert, '--key', b.key, '--quiet']);
    expect(failed.status).toBe(EXIT_CODES.INPUT);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^error: \S*y-broken\.yaml document 1 [^\n]+\n$/);
  });

  it('writes the report as JSON with --output json, files sorted', () => {
    const root = folder('json');
    const r = sealbox(['rotate', root, '--to-cert', b.cert, '--key', a.key, '--dry-run', '--output', 'json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { summary: object; files: { path: string; status: string }[] };
    expect(report.summary).toMatchObject({ sealedFiles: 4, needsRotation: 4, rotated: 0 });
    expect(report.files.map((f) => f.path)).toEqual(['a.yaml', 'b/c.yaml', 'm/n/o.yaml', 'z.yaml'].map((f) => join(root, f)));
    expect(report.files.every((f) => f.status === 'needs-rotation')).toBe(true);
  });
});
