import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, sealbox, sealboxCommand, tempDir } from '../helpers/cli.js';
import { readmeBlock } from '../helpers/readme.js';

// The README's blocks run exactly as printed. The Quickstart says
// `npx sealbox`: an `npx` on PATH that runs the built CLI stands in for
// npm's, which would look the package up (outside this clone, in the
// registry); it refuses anything but `npx sealbox …`.
let dir: string;
let cleanup: () => void;
let env: NodeJS.ProcessEnv;

function sh(script: string, cwd: string): { status: number | null; out: string } {
  const r = spawnSync('sh', ['-c', script], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('readme'));
  writeFileSync(join(dir, 'npx'), `#!/bin/sh\n[ "$1" = sealbox ] || { echo "npx stand-in: only 'npx sealbox' is supported" >&2; exit 127; }\nshift\nexec ${sealboxCommand()} "$@"\n`);
  chmodSync(join(dir, 'npx'), 0o755);
  env = { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` };
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('the README', () => {
  it('keeps "npm ci && npm run demo" and "npm test" as its first two commands', () => {
    const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]?.trim());
    expect(blocks.slice(0, 2)).toEqual(['npm ci && npm run demo', 'npm test']);
  });

  it('Quickstart runs as printed: verify flags the plaintext secret.yaml until it is deleted', () => {
    const work = join(dir, 'quickstart');
    spawnSync('mkdir', [work]);
    const block = readmeBlock('Quickstart');
    expect(block).toContain('npx sealbox verify .');
    const r = sh(block, work);
    expect(r.status, r.out).toBe(0);
    expect(statSync(join(work, 'key.pem')).mode & 0o777).toBe(0o600);
    const sealed = readFileSync(join(work, 'db.sealed.yaml'), 'utf8');
    expect(sealed).toContain('kind: SealedSecret');
    expect(sealed).not.toContain('hunter2');
    expect(r.out).toContain('password: hunter2'); // unseal --decode
    expect(r.out).toContain('secret.yaml:1: plaintext Secret with 1 value(s)');
    expect(r.out).toMatch(/error: 1 problem\(s\) in 2 file\(s\) checked\n/);
    expect(r.out.trimEnd().split('\n').pop()).toBe('ok: 1 file(s) checked, no problems');
    expect(existsSync(join(work, 'secret.yaml'))).toBe(false);
  });

  it('Fingerprints: the openssl command prints the fingerprint that cert inspect shows', () => {
    const work = join(dir, 'fingerprint');
    spawnSync('mkdir', [work]);
    expect(sealbox(['keygen', '--bits', '2048', '--key-out', join(work, 'key.pem'), '--cert-out', join(work, 'cert.pem')]).status).toBe(0);
    const r = sh(readmeBlock('Fingerprints'), work);
    expect(r.status, r.out).toBe(0);
    const digest = /^([0-9a-f]{64}) /.exec(r.out)?.[1];
    expect(digest).toBeDefined();
    expect(sealbox(['cert', 'inspect', join(work, 'cert.pem')]).stdout).toContain(digest ?? 'none');
  });
});
