/**
 * The repository config `.sealbox.yaml`: rules that say, by path, which
 * recipients and scope a sealed file gets, so `sealbox seal` and `sealbox
 * rotate` need no key flags in a configured repository.
 *
 * ```yaml
 * rules:
 *   - path: apps/prod/**            # glob relative to this file's folder
 *     scope: strict                  # optional; default strict
 *     recipients:
 *       - cert:clusters/prod.pem     # file (relative to this folder) or http(s) URL
 *       - aws:arn:aws:kms:eu-west-1:111122223333:key/…
 *       - azure:https://myvault.vault.azure.net/keys/sealbox
 *   - recipients: [cert:clusters/dev.pem]   # no path: matches everything
 * ```
 *
 * The first rule whose path matches wins. The nearest config is looked up
 * from the file's folder up to the repository root (see configFolders).
 */
import { lstat, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isScope } from '../src/crypto/binding.js';
import type { RecipientRef, Scope } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import { isObject } from '../src/format/object.js';
import { parseDocuments } from '../src/format/yaml.js';
import { matchesGlob } from './config-glob.js';

/** The config file name looked for in each folder. */
export const CONFIG_FILE = '.sealbox.yaml';

/** One rule of a config. */
export interface ConfigRule {
  /** Glob matched against the path relative to the config's folder; undefined matches every path. */
  readonly path?: string;
  readonly scope?: Scope;
  /** Recipient specs: `cert:PATH_OR_URL` (paths made absolute), `aws:…`, `azure:…`. */
  readonly recipients: readonly string[];
  /** 1-based position, for messages. */
  readonly index: number;
}

/** A parsed `.sealbox.yaml`. */
export interface RepoConfig {
  readonly file: string;
  readonly dir: string;
  readonly rules: readonly ConfigRule[];
}

/**
 * Parses the text of a config file at `file`. Returns the rules with `cert:`
 * paths resolved against the file's folder. Throws SealboxError('INPUT')
 * naming the file and the field for anything malformed.
 */
export function parseConfig(text: string, file: string): RepoConfig {
  const dir = dirname(resolve(file));
  const docs = parseDocuments(text, file);
  const [doc, extra] = docs;
  if (extra !== undefined) throw new SealboxError('INPUT', `${file}: one YAML document expected`);
  const root: unknown = doc?.value ?? {};
  if (!isObject(root)) throw new SealboxError('INPUT', `${file}: expected a mapping with "rules"`);
  for (const k of Object.keys(root)) if (k !== 'rules') throw new SealboxError('INPUT', `${file}: unknown field "${k.slice(0, 40)}"; only "rules" is known`);
  const rules = root.rules ?? [];
  if (!Array.isArray(rules)) throw new SealboxError('INPUT', `${file}: "rules" must be a list`);
  return { file, dir, rules: rules.map((r, i) => parseRule(r, i + 1, file, dir)) };
}

function parseRule(v: unknown, index: number, file: string, dir: string): ConfigRule {
  const at = `${file}: rules[${index - 1}]`;
  if (!isObject(v)) throw new SealboxError('INPUT', `${at} must be a mapping with "recipients"`);
  for (const k of Object.keys(v)) {
    if (!['path', 'scope', 'recipients'].includes(k)) throw new SealboxError('INPUT', `${at}: unknown field "${k.slice(0, 40)}"; use path, scope, recipients`);
  }
  if (v.path !== undefined && (typeof v.path !== 'string' || v.path === '')) throw new SealboxError('INPUT', `${at}.path must be a non-empty glob`);
  if (typeof v.path === 'string') matchesGlob('', v.path); // reject a malformed pattern now, not at first use
  if (v.scope !== undefined && !isScope(v.scope)) throw new SealboxError('INPUT', `${at}.scope must be strict, namespace or cluster`);
  if (!Array.isArray(v.recipients) || v.recipients.length === 0) throw new SealboxError('INPUT', `${at}.recipients must be a non-empty list`);
  const recipients = v.recipients.map((r, j) => recipientSpec(r, `${at}.recipients[${j}]`, dir));
  return {
    ...(typeof v.path === 'string' ? { path: v.path } : {}),
    ...(isScope(v.scope) ? { scope: v.scope } : {}),
    recipients,
    index,
  };
}

function recipientSpec(v: unknown, at: string, dir: string): string {
  if (typeof v !== 'string') throw new SealboxError('INPUT', `${at} must be a string such as cert:PATH, aws:ARN or azure:https://VAULT/keys/NAME`);
  if (v.startsWith('cert:')) {
    const target = v.slice('cert:'.length);
    if (target === '') throw new SealboxError('INPUT', `${at}: cert: needs a file path or URL`);
    return /^https?:\/\//.test(target) || isAbsolute(target) ? v : `cert:${join(dir, target)}`;
  }
  if (v.startsWith('aws:') || v.startsWith('azure:')) return v;
  throw new SealboxError('INPUT', `${at}: "${v.slice(0, 60)}" is not a recipient; use cert:PATH_OR_URL, aws:KEY_ARN_OR_ALIAS or azure:https://VAULT/keys/NAME[/VERSION]`);
}

/**
 * True when `dir` is the top of a Git work tree: `.git` is a folder holding
 * `HEAD` (a clone) or a file starting with `gitdir:` (a worktree or
 * submodule). An empty file or folder named `.git` marks nothing, so dropping
 * one into a shared folder does not make it a repository root.
 */
async function holdsGit(dir: string): Promise<boolean> {
  const dotGit = join(dir, '.git');
  const info = await lstat(dotGit).catch(() => undefined);
  if (info?.isDirectory() === true) return lstat(join(dotGit, 'HEAD')).then(() => true, () => false);
  if (info?.isFile() !== true) return false;
  const head = await readFile(dotGit, 'utf8').catch(() => '');
  return head.startsWith('gitdir:');
}

/**
 * True when others than its owner may write to `dir` (like /tmp): a config or
 * `.git` there could be anyone's, so such a folder is never read (the rule
 * git's safe.directory check follows for repositories owned by others).
 */
async function writableByOthers(dir: string): Promise<boolean> {
  const info = await lstat(dir).catch(() => undefined);
  return info !== undefined && (info.mode & 0o002) !== 0;
}

/**
 * The folders `findConfig` reads, nearest first: from `startDir` up to the
 * root of the Git repository that holds it (the nearest folder with `.git`),
 * or `startDir` alone outside a repository. A `.sealbox.yaml` in a folder
 * above the repository (a shared CI folder, /tmp, a home folder) never
 * chooses the recipients, and neither does one in a folder that others may
 * write to: the walk stops below such a folder.
 */
export async function configFolders(startDir: string): Promise<string[]> {
  const folders: string[] = [];
  for (let dir = resolve(startDir); ; dir = dirname(dir)) {
    // Above here anyone may have written: no repository root found, so as outside one.
    if (await writableByOthers(dir)) return folders.slice(0, 1);
    folders.push(dir);
    if (await holdsGit(dir)) return folders;
    if (dirname(dir) === dir) return folders.slice(0, 1);
  }
}

/**
 * Finds the nearest `.sealbox.yaml` in the folders `configFolders` lists.
 * Returns it parsed, or undefined when there is none.
 * Throws SealboxError('INPUT') for a malformed file, ('IO') for an unreadable one.
 */
export async function findConfig(startDir: string): Promise<RepoConfig | undefined> {
  for (const dir of await configFolders(startDir)) {
    const file = join(dir, CONFIG_FILE);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new SealboxError('IO', `cannot read ${file}: ${code ?? 'i/o error'}`, { cause: err });
    }
    if (text !== undefined) return parseConfig(text, file);
  }
  return undefined;
}

/**
 * Returns the first rule whose path matches `target` (a file, or a folder
 * when sealing standard input to standard output), or undefined. A target
 * outside the config's folder matches only rules without a path.
 */
export function ruleFor(config: RepoConfig, target: string): ConfigRule | undefined {
  const rel = relative(config.dir, resolve(target)).split(sep).join('/');
  const outside = rel.startsWith('../') || rel === '..' || isAbsolute(rel);
  return config.rules.find((r) => r.path === undefined || (!outside && matchesGlob(rel === '' ? '.' : rel, r.path)));
}

/** Names a rule in messages: `.sealbox.yaml rule 2 (apps/**)`. */
export function describeRule(config: RepoConfig, rule: ConfigRule): string {
  return `${config.file} rule ${rule.index}${rule.path === undefined ? '' : ` (${rule.path})`}`;
}

/**
 * The line `seal` and `rotate` print on standard error when a config rule
 * chose the recipients: which file, which rule, the scope (when the command
 * applies one) and each recipient as sealed files name it.
 */
export function ruleNotice(config: RepoConfig, rule: ConfigRule, recipients: readonly RecipientRef[], scope?: Scope): string {
  const who = recipients.map((r) => `${r.type} ${r.id}`).join(', ');
  return `using ${describeRule(config, rule)}: ${scope === undefined ? '' : `scope ${scope}, `}recipients ${who}\n`;
}

/**
 * Throws SealboxError('INPUT') when a rule fetches a certificate over plain
 * http and the user did not pass --insecure-http: whoever is on the path
 * (or a config planted in a folder the user did not write) would choose the
 * key the secrets are sealed for.
 */
export function checkRuleTransport(config: RepoConfig, rule: ConfigRule, insecureHttp: boolean): void {
  if (insecureHttp) return;
  const plain = rule.recipients.find((r) => /^cert:http:\/\//i.test(r));
  if (plain === undefined) return;
  throw new SealboxError('INPUT', `${plain.slice(0, 120)} fetches the certificate over plain http, where anyone on the path can replace it; use https or a certificate file, or pass --insecure-http`);
}
