import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { CertRecipient } from '../../src/keys/cert.js';
import { ensureBuilt, keygen, sealbox, sealboxAsync, tempDir } from '../helpers/cli.js';

// Which `.sealbox.yaml` chooses the recipients: the nearest one from the
// file's folder up to the repository root (the folder with `.git`), never
// one above it; outside a repository only the file's own folder. The choice
// is printed on stderr. A rule that fetches a certificate over plain http
// needs --insecure-http.

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: config-lookup-marker}\n';
// Nothing listens here: a command that falls back to the cluster fails fast.
const NO_CONTROLLER = ['--controller-url', 'http://127.0.0.1:9'];

let dir: string;
let cleanup: () => void;
let attacker: { key: string; cert: string };
let team: { key: string; cert: string };
let attackerId: string;
let teamId: string;

const fingerprint = (cert: string): string => CertRecipient.fromPem(readFileSync(cert), cert).recipient.id;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('config-lookup'));
  attacker = keygen(dir, 'attacker');
  team = keygen(dir, 'team');
  attackerId = fingerprint(attacker.cert);
  teamId = fingerprint(team.cert);
}, 120_000);
afterAll(() => {
  cleanup();
});

/** `outer/.sealbox.yaml` names the attacker; `outer/NAME` is a repository (`.git` a folder or a file) with `app/secret.yaml`. */
function layout(name: string, git: 'dir' | 'file' | 'none'): { outer: string; repo: string; app: string } {
  const outer = join(dir, name);
  const repo = join(outer, 'repo');
  const app = join(repo, 'app');
  mkdirSync(app, { recursive: true });
  writeFileSync(join(outer, '.sealbox.yaml'), `rules:\n  - recipients: [cert:${attacker.cert}]\n`);
  if (git === 'dir') {
    mkdirSync(join(repo, '.git'));
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  }
  if (git === 'file') writeFileSync(join(repo, '.git'), 'gitdir: /elsewhere/.git/worktrees/repo\n');
  writeFileSync(join(app, 'secret.yaml'), SECRET);
  return { outer, repo, app };
}

const recipientIds = (text: string): string[] =>
  (parse(text) as { spec: { dataKeys: { recipients: { id: string }[] }[] } }).spec.dataKeys.flatMap((g) => g.recipients.map((r) => r.id));

describe('.sealbox.yaml lookup', () => {
  it.each(['dir', 'file'] as const)('ignores a config above the repository root (.git a %s)', (git) => {
    const { repo } = layout(`above-${git}`, git);
    const r = sealbox(['seal', '-f', 'app/secret.yaml', ...NO_CONTROLLER], { cwd: repo });

    expect(r.stdout).not.toContain(attackerId);
    expect(r.stderr).not.toContain('.sealbox.yaml rule');
    expect(r.status).toBe(EXIT_CODES.PROVIDER);
  });

  it('uses the config at the repository root from a subfolder, and says which config, rule, scope and recipients', () => {
    const { repo } = layout('root', 'dir');
    writeFileSync(join(repo, '.sealbox.yaml'), `rules:\n  - path: "app/**"\n    scope: namespace\n    recipients: [cert:${team.cert}]\n`);
    const r = sealbox(['seal', '-f', 'secret.yaml'], { cwd: join(repo, 'app') });

    expect(r.status).toBe(0);
    expect(recipientIds(r.stdout)).toEqual([teamId]);
    expect(r.stderr).toContain(`using ${join(repo, '.sealbox.yaml')} rule 1 (app/**): scope namespace, recipients cert ${teamId}`);
  });

  it('outside a repository ignores a config in a parent folder and uses one beside the file', () => {
    const { app } = layout('no-repo', 'none');
    const above = sealbox(['seal', '-f', 'secret.yaml', ...NO_CONTROLLER], { cwd: app });

    expect(above.stdout).not.toContain(attackerId);
    expect(above.status).toBe(EXIT_CODES.PROVIDER);

    writeFileSync(join(app, '.sealbox.yaml'), `rules:\n  - recipients: [cert:${team.cert}]\n`);
    const beside = sealbox(['seal', '-f', 'secret.yaml'], { cwd: app });

    expect(beside.status).toBe(0);
    expect(recipientIds(beside.stdout)).toEqual([teamId]);
    expect(beside.stderr).toContain(`using ${join(app, '.sealbox.yaml')} rule 1: scope strict, recipients cert ${teamId}`);
  });

  it('makes rotate ignore a config above the repository root too', () => {
    const { repo } = layout('rotate', 'dir');
    const sealed = sealbox(['seal', '--cert', team.cert, '-f', 'app/secret.yaml', '-o', 'app/sealed.yaml'], { cwd: repo });
    expect(sealed.status).toBe(0);
    const before = readFileSync(join(repo, 'app', 'sealed.yaml'), 'utf8');

    const r = sealbox(['rotate', 'app/sealed.yaml', '--key', team.key], { cwd: repo });

    expect(r.stderr).toContain('nothing to rotate to');
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(readFileSync(join(repo, 'app', 'sealed.yaml'), 'utf8')).toBe(before);
  });

  it('makes rotate say which config rule it rotates to', () => {
    const { repo } = layout('rotate-root', 'dir');
    expect(sealbox(['seal', '--cert', attacker.cert, '-f', 'app/secret.yaml', '-o', 'app/sealed.yaml'], { cwd: repo }).status).toBe(0);
    writeFileSync(join(repo, '.sealbox.yaml'), `rules:\n  - recipients: [cert:${team.cert}]\n`);

    const r = sealbox(['rotate', 'app/sealed.yaml', '--key', attacker.key, '--remove-recipient', attacker.cert], { cwd: repo });

    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`using ${join(repo, '.sealbox.yaml')} rule 1: recipients cert ${teamId}`);
    expect(recipientIds(readFileSync(join(repo, 'app', 'sealed.yaml'), 'utf8'))).toEqual([teamId]);
  });
});

describe('.sealbox.yaml planted by someone else', () => {
  it.each([
    ['an empty .git file', (outer: string) => { writeFileSync(join(outer, '.git'), ''); }],
    ['an empty .git folder', (outer: string) => { mkdirSync(join(outer, '.git')); }],
  ])('does not take %s in a parent folder for a repository root', (_what, plant) => {
    const { outer, app } = layout(`fake-git-${String(_what.length)}`, 'none');
    plant(outer);
    const r = sealbox(['seal', '-f', 'secret.yaml', ...NO_CONTROLLER], { cwd: app });

    expect(r.stdout).not.toContain(attackerId);
    expect(r.stderr).not.toContain('.sealbox.yaml rule');
    expect(r.status).toBe(EXIT_CODES.PROVIDER);
  });

  it('never reads a config in a folder that others may write to, like /tmp', () => {
    const shared = join(dir, 'shared-tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, '.sealbox.yaml'), `rules:\n  - recipients: [cert:${attacker.cert}]\n`);
    writeFileSync(join(shared, 'secret.yaml'), SECRET);
    const r = sealbox(['seal', '-f', 'secret.yaml', ...NO_CONTROLLER], { cwd: shared });

    expect(r.stdout).not.toContain(attackerId);
    expect(r.stderr).not.toContain('.sealbox.yaml rule');
    expect(r.status).toBe(EXIT_CODES.PROVIDER);
  });
});

describe('cert:http:// in .sealbox.yaml', () => {
  let server: Server;
  let url: string;
  let fetched = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(readFileSync(team.cert));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cert.pem`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function httpRepo(name: string): string {
    const { repo } = layout(name, 'dir');
    writeFileSync(join(repo, '.sealbox.yaml'), `rules:\n  - recipients: ["cert:${url}"]\n`);
    return repo;
  }

  it('is refused by seal without --insecure-http, before any request', async () => {
    const repo = httpRepo('http-seal');
    const before = fetched;
    const r = await sealboxAsync(['seal', '-f', 'app/secret.yaml'], { cwd: repo });

    expect(r.stderr).toContain('over plain http');
    expect(r.stderr).toContain('--insecure-http');
    expect(r.stderr.match(/ rule 1\b/g)).toHaveLength(1); // the rule is named once
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stdout).toBe('');
    expect(fetched).toBe(before);
  });

  it('is used by seal with --insecure-http', async () => {
    const repo = httpRepo('http-seal-ok');
    const r = await sealboxAsync(['seal', '-f', 'app/secret.yaml', '--insecure-http'], { cwd: repo });

    expect(r.status).toBe(0);
    expect(recipientIds(r.stdout)).toEqual([teamId]);
  });

  it('is refused by rotate without --insecure-http', async () => {
    const repo = httpRepo('http-rotate');
    expect(sealbox(['seal', '--cert', attacker.cert, '-f', 'app/secret.yaml', '-o', 'app/sealed.yaml'], { cwd: repo }).status).toBe(0);
    const before = readFileSync(join(repo, 'app', 'sealed.yaml'), 'utf8');

    const r = await sealboxAsync(['rotate', 'app/sealed.yaml', '--key', attacker.key], { cwd: repo });

    expect(r.stderr).toContain('over plain http');
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(readFileSync(join(repo, 'app', 'sealed.yaml'), 'utf8')).toBe(before);
  });
});
