// The krew plugin manifest (plugins/sealbox.yaml, filled by
// scripts/krew-manifest.mjs) checked against krew's validation rules
// (sigs.k8s.io/krew pkg/index/validation) and installed the way krew installs
// it: unpack the archive, move each `files` match to `to/<basename>`, link
// `kubectl-<name>` to `bin`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, normalize, posix } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './cli.js';

/** One platform entry of a krew manifest. */
export interface KrewPlatform {
  readonly selector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  readonly uri?: string;
  readonly sha256?: string;
  readonly files?: { from?: string; to?: string }[];
  readonly bin?: string;
}

/** A krew manifest, as far as the checks read it. */
export interface KrewPlugin {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { name?: string };
  readonly spec?: { version?: string; shortDescription?: string; homepage?: string; platforms?: KrewPlatform[] };
}

/** Runs scripts/krew-manifest.mjs for `tarball` and parses what it prints. */
export function krewManifest(tarball: string): { text: string; plugin: KrewPlugin } {
  const text = execFileSync(process.execPath, [join(ROOT, 'scripts', 'krew-manifest.mjs'), tarball], { encoding: 'utf8' });
  return { text, plugin: parse(text) as KrewPlugin };
}

function platformProblems(p: KrewPlatform, i: number): string[] {
  const out: string[] = [];
  const at = `spec.platforms[${i}]`;
  if (p.selector === undefined) out.push(`${at}.selector is missing`);
  for (const e of p.selector?.matchExpressions ?? []) if (!['os', 'arch'].includes(e.key)) out.push(`${at}: selector key ${e.key}`);
  if (p.uri === undefined || !p.uri.startsWith('https://')) out.push(`${at}.uri is not https`);
  if (!/^[0-9a-f]{64}$/.test(p.sha256 ?? '')) out.push(`${at}.sha256 is not 64 hex digits`);
  if (p.bin === undefined || p.bin === '') out.push(`${at}.bin is missing`);
  if ((p.files ?? []).length === 0) out.push(`${at}.files is empty`);
  for (const f of p.files ?? []) {
    if (f.from === undefined || f.to === undefined || f.to !== posix.normalize(f.to)) out.push(`${at}.files: ${JSON.stringify(f)}`);
  }
  return out;
}

/** What krew's validation would refuse in `plugin`, named `fileName` in the index. */
export function krewProblems(plugin: KrewPlugin, fileName: string): string[] {
  const out: string[] = [];
  if (plugin.apiVersion !== 'krew.googlecontainers.github.com/v1alpha2') out.push(`apiVersion ${String(plugin.apiVersion)}`);
  if (plugin.kind !== 'Plugin') out.push(`kind ${String(plugin.kind)}`);
  const name = plugin.metadata?.name ?? '';
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || `${name}.yaml` !== fileName) out.push(`metadata.name "${name}" does not match ${fileName}`);
  if (!/^v\d+\.\d+\.\d+(-[\w.]+)?$/.test(plugin.spec?.version ?? '')) out.push(`spec.version ${String(plugin.spec?.version)} is not v-prefixed semver`);
  if ((plugin.spec?.shortDescription ?? '') === '') out.push('spec.shortDescription is empty');
  const platforms = plugin.spec?.platforms ?? [];
  if (platforms.length === 0) out.push('spec.platforms is empty');
  return [...out, ...platforms.flatMap(platformProblems)];
}

/** Expands a krew `from` (a `*` allowed in its last part) inside `dir`. */
function matches(dir: string, from: string): string[] {
  const name = basename(from);
  const parent = join(dir, dirname(from));
  if (!name.includes('*')) return [join(dir, from)];
  const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return readdirSync(parent).filter((n) => re.test(n)).map((n) => join(parent, n));
}

/**
 * Installs `platform` from `tarball` as krew would, under `root`: returns the
 * folder holding `kubectl-<name>` (krew's bin folder).
 * @throws {Error} when a `files` entry matches nothing
 */
export function krewInstall(tarball: string, name: string, platform: KrewPlatform, root: string): string {
  const unpacked = join(root, 'download');
  const install = join(root, 'store', name);
  const bin = join(root, 'bin');
  for (const d of [unpacked, install, bin]) mkdirSync(d, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  for (const f of platform.files ?? []) {
    const found = matches(unpacked, f.from ?? '');
    if (found.length === 0) throw new Error(`krew files: ${String(f.from)} matches nothing in the archive`);
    const to = join(install, normalize(f.to ?? '.'));
    mkdirSync(to, { recursive: true });
    for (const m of found) renameSync(m, join(to, basename(m)));
  }
  symlinkSync(join(install, platform.bin ?? ''), join(bin, `kubectl-${name}`));
  return bin;
}
