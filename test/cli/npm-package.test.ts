// The npm package, installed the way the README's Install section says:
// `npm pack`, then `npm install -g --prefix PREFIX ./sealbox-*.tgz` into an
// empty prefix with no registry and no npm cache (test/helpers/npm-package.ts).
// What it installs must work from anywhere, with nothing of this checkout.
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { krewInstall, krewManifest, krewProblems } from '../helpers/krew.js';
import type { InstalledPackage } from '../helpers/npm-package.js';
import { packAndInstall } from '../helpers/npm-package.js';

/** The packed tarball's budget: 0.84 MB today (bundle 0.75 MB of it); source maps or node_modules would blow it. */
const BUDGET_BYTES = 1.5 * 1024 * 1024;

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2}\n';

interface Ran { status: number | null; stdout: string; stderr: string }

describe('the npm package', () => {
  /** Runs an installed command from an empty folder, with only the package's bin, node and /usr/bin:/bin on PATH. */
  function installed(command: string, args: readonly string[]): Ran {
    return spawnSync(command, args, { cwd: work.dir, encoding: 'utf8', timeout: 60_000, env: { PATH: pkg.path, HOME: work.dir, KUBECONFIG: '' } });
  }

  let pkg: InstalledPackage;
  let work: { dir: string; cleanup: () => void };
  let keygen: Ran;

  beforeAll(() => {
    pkg = packAndInstall();
    work = tempDir('npm-use');
    const mb = (n: number): string => (n / 1024 / 1024).toFixed(2);
    console.info(`npm package ${pkg.pack.filename}: ${mb(pkg.pack.size)} MB packed (budget ${mb(BUDGET_BYTES)} MB), ${mb(pkg.pack.unpackedSize)} MB unpacked, ${pkg.pack.files.length} files`);
    keygen = installed('sealbox', ['keygen', '--bits', '2048', '--key-out', 'key.pem', '--cert-out', 'cert.pem']);
  }, 180_000);
  afterAll(() => {
    // undefined when beforeAll failed: its error is the one to read
    (pkg as InstalledPackage | undefined)?.cleanup();
    (work as typeof work | undefined)?.cleanup();
  });


  it('holds the bundle, crds/, deploy/ and the docs, and no tests, sources or source maps', () => {
    const paths = pkg.pack.files.map((f) => f.path);

    expect(paths).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'dist/bundle/sealbox.js', 'crds/sealedsecrets.sealbox.dev.yaml', 'crds/kustomization.yaml',
      'deploy/kustomization.yaml', 'deploy/deployment.yaml', 'deploy/Dockerfile', 'docs/FORMAT.md', 'docs/DEPLOY.md',
    ]));
    expect(paths.filter((p) => !/^(package\.json|README\.md|dist\/bundle\/[\w-]+\.js|crds\/.+\.yaml|deploy\/.+|docs\/[\w-]+\.md)$/.test(p))).toEqual([]);
  });

  it('stays under its size budget', () => {
    expect(pkg.pack.size).toBeLessThan(BUDGET_BYTES);
  });

  it('declares no dependencies, so installing it needs no registry', () => {
    const manifest = JSON.parse(readFileSync(join(pkg.bin, '..', 'lib', 'node_modules', 'sealbox', 'package.json'), 'utf8')) as Record<string, unknown>;

    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.optionalDependencies).toBeUndefined();
    expect(manifest.peerDependencies).toBeUndefined();
  });

  it('installs sealbox and kubectl-sealbox, both the bundle', () => {
    const main = realpathSync(join(pkg.bin, '..', 'lib', 'node_modules', 'sealbox', 'dist', 'bundle', 'sealbox.js'));

    expect(realpathSync(join(pkg.bin, 'sealbox'))).toBe(main);
    expect(realpathSync(join(pkg.bin, 'kubectl-sealbox'))).toBe(main);
  });

  it('runs keygen, seal and unseal offline from the installed sealbox', () => {
    expect(keygen.status, keygen.stderr).toBe(0);
    expect(keygen.stderr).toContain('fingerprint');
    writeFileSync(join(work.dir, 'secret.yaml'), SECRET);

    const sealed = installed('sealbox', ['seal', '--cert', 'cert.pem', '-f', 'secret.yaml', '-o', 'db.sealed.yaml']);
    expect(sealed.status, sealed.stderr).toBe(0);
    expect(readFileSync(join(work.dir, 'db.sealed.yaml'), 'utf8')).not.toContain('hunter2');
    const unsealed = installed('sealbox', ['unseal', '--key', 'key.pem', '-f', 'db.sealed.yaml', '--decode']);

    expect(unsealed.status, unsealed.stderr).toBe(0);
    expect(unsealed.stdout).toContain('password: hunter2');
  });

  it('runs the same CLI as kubectl-sealbox', () => {
    const r = installed('kubectl-sealbox', ['seal', '--cert', 'cert.pem', '--name', 'api', '--namespace', 'prod', '--from-literal', 'token=abc12345']);

    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('kind: SealedSecret');
    expect(r.stdout).not.toContain('abc12345');
  });

  it('fills the krew manifest with the tarball\'s sha256, in a shape krew accepts', () => {
    const { text, plugin } = krewManifest(pkg.tarball);

    expect(krewProblems(plugin, 'sealbox.yaml')).toEqual([]);
    expect(plugin.spec?.version).toBe(`v${pkg.pack.filename.replace(/^sealbox-|\.tgz$/g, '')}`);
    expect(plugin.spec?.platforms?.[0]?.uri).toMatch(new RegExp(`/${pkg.pack.filename.replace(/\./g, '\\.')}$`));
    expect(text).not.toContain('{{');
  });

  it('installs as krew would from the manifest, and the kubectl-sealbox it links runs', () => {
    const { plugin } = krewManifest(pkg.tarball);
    const platform = plugin.spec?.platforms?.[0] ?? {};
    const krewBin = krewInstall(pkg.tarball, plugin.metadata?.name ?? '', platform, join(work.dir, 'krew'));

    const r = spawnSync('kubectl-sealbox', ['seal', '--cert', 'cert.pem', '--name', 'api', '--namespace', 'prod', '--from-literal', 'token=abc12345'], {
      cwd: work.dir, encoding: 'utf8', timeout: 60_000, env: { PATH: [krewBin, ...pkg.path.split(':').slice(1)].join(':'), HOME: work.dir },
    });

    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('kind: SealedSecret');
  });
});
