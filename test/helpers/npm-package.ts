// The npm package as a user gets it: `npm pack` of this checkout (built by
// `npm run build`), then `npm install -g --prefix PREFIX ./sealbox-*.tgz`
// into an empty prefix, offline: an empty npm cache and an unreachable
// registry, so any dependency the tarball still declared would fail the
// install. The CLI tests and the kubectl plugin test run what it installs.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { ensureBuilt, ROOT, tempDir } from './cli.js';

/** What `npm pack --json` reports about the tarball. */
export interface PackReport {
  readonly filename: string;
  /** bytes of the .tgz */
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

/** A package packed and installed into a temporary prefix. */
export interface InstalledPackage {
  readonly pack: PackReport;
  readonly tarball: string;
  /** PREFIX/bin: where `sealbox` and `kubectl-sealbox` are */
  readonly bin: string;
  /** PATH with only the package's bin, this node's folder and /usr/bin:/bin */
  readonly path: string;
  readonly cleanup: () => void;
}

/** npm with no user config, no cache of ours and no registry it can reach. */
function npm(args: readonly string[], cwd: string, home: string): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--registry', 'http://127.0.0.1:9/', '--cache', join(home, 'npm-cache')], {
    cwd, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, npm_config_userconfig: join(home, '.npmrc'), PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
  });
}

/**
 * Packs this checkout (`--ignore-scripts`: dist/ is built first, so `prepare`
 * need not build again) and installs the tarball globally into an empty
 * prefix, offline.
 * @throws {Error} when npm fails (its stderr in the message)
 */
export function packAndInstall(): InstalledPackage {
  ensureBuilt();
  const { dir, cleanup } = tempDir('npm-package');
  const home = join(dir, 'home');
  mkdirSync(home);
  const [pack] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT, home)) as PackReport[];
  if (pack === undefined) throw new Error('npm pack reported no tarball');
  const tarball = join(dir, pack.filename);
  const prefix = join(dir, 'prefix');
  npm(['install', '--global', '--offline', '--prefix', prefix, tarball], dir, home);
  const bin = join(prefix, 'bin');
  return { pack, tarball, bin, path: [bin, dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter), cleanup };
}
