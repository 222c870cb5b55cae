import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, sealboxOnPath, tempDir } from '../helpers/cli.js';
import { readmeBlock } from '../helpers/readme.js';

// The README's pre-commit hook, run exactly as printed, in a real git
// repository, with the built CLI on PATH as `sealbox` (as `npm install -g`
// puts it there).
const MARKER = 'hook-plaintext-4c1d';
const plain = (name: string): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {password: ${MARKER}}\n`;

let dir: string;
let cleanup: () => void;
let repo: string;
let env: NodeJS.ProcessEnv;

/** Runs a shell command in the repository; returns status and output. */
function sh(command: string): { status: number | null; out: string } {
  const r = spawnSync('sh', ['-c', command], { cwd: repo, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function run(command: string): string {
  const r = sh(command);
  if (r.status !== 0) throw new Error(`${command} failed:\n${r.out}`);
  return r.out;
}

const head = (): string => run('git rev-parse HEAD').trim();

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('hook'));
  const bin = sealboxOnPath(dir);
  repo = join(dir, 'repo');
  mkdirSync(repo);
  // HOME and the global config point into the temp dir: no user setting leaks in.
  env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(dir, 'gitconfig') };
  writeFileSync(join(dir, 'gitconfig'), '[user]\n\tname = t\n\temail = t@example.invalid\n[init]\n\tdefaultBranch = main\n');
  run('git init -q . && sealbox keygen --bits 2048 --key-out ../key.pem --cert-out ../cert.pem');
  run(readmeBlock('Use `verify` as a git pre-commit hook'));
  run('echo hello > notes.txt && git add notes.txt && git commit -q -m first');
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('the README pre-commit hook (sealbox verify --staged)', () => {
  it('blocks a plaintext secret that was staged and then sealed in place, and passes it once the sealed file is staged', () => {
    writeFileSync(join(repo, 'secret.yaml'), plain('db'));
    run('git add secret.yaml && sealbox seal --cert ../cert.pem -f secret.yaml -o secret.yaml');
    const before = head();
    const r = sh('git commit -q -m leak');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/^secret\.yaml:1: plaintext Secret with 1 value/m);
    expect(r.out).not.toContain(MARKER);
    expect(head()).toBe(before);
    run('git add secret.yaml && git commit -q -m sealed');
    expect(run('git show HEAD:secret.yaml')).toContain('kind: SealedSecret');
  });

  it('passes an unrelated commit while a plaintext secret lies untracked in the working tree', () => {
    writeFileSync(join(repo, 'untracked.yaml'), plain('u'));
    run('echo more >> notes.txt && git add notes.txt && git commit -q -m notes');
    run('git commit -q --allow-empty -m empty');
    run('rm untracked.yaml');
  });

  it('passes a staged delete', () => {
    const before = head();
    run('git rm -q secret.yaml && git commit -q -m delete');
    expect(head()).not.toBe(before);
  });

  it('handles file and folder names with spaces', () => {
    mkdirSync(join(repo, 'my app'));
    writeFileSync(join(repo, 'my app', 'db secret.yaml'), plain('spaces'));
    run('sealbox seal --cert ../cert.pem -f "my app/db secret.yaml" -o "my app/db secret.yaml" && git add "my app"');
    run('git commit -q -m "sealed with spaces"');
    writeFileSync(join(repo, 'my app', 'leak me.yaml'), plain('leak'));
    const r = sh('git add "my app/leak me.yaml" && git commit -q -m leak');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/^my app\/leak me\.yaml:1: plaintext Secret/m);
  });
});
