/**
 * What `sealbox seal` reads: a file or standard input (`-f`), a Secret built
 * from `--from-literal`/`--from-file`, or every manifest below a folder, each
 * turned into the documents to seal.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SealboxError } from '../src/errors.js';
import type { InputDocument, InputSummary } from '../src/format/documents.js';
import type { SecretData } from '../src/format/secret.js';
import { expandLists, parseSecret, secretManifest } from '../src/format/secret.js';
import type { SourceDocument } from '../src/format/yaml.js';
import { parseDocuments } from '../src/format/yaml.js';
import { readInput, readText } from './io.js';
import { walkManifests } from './walk.js';

/** The flags of `seal` that say what it reads. */
export interface SealInputFlags {
  file?: string;
  name?: string;
  namespace?: string;
  type: string;
  fromLiteral: string[];
  fromFile: string[];
}

/** One input's documents, and the name messages give the input. */
export interface SealInput {
  readonly docs: readonly InputDocument[];
  readonly source: string;
}

/** True when the Secret is built from the command line (`--from-literal`, `--from-file`). */
export function isLiteral(flags: SealInputFlags): boolean {
  return flags.fromLiteral.length > 0 || flags.fromFile.length > 0;
}

/** Returns the folder `-f` names, or undefined when it names a file, standard input, or literal mode is on. */
export async function inputFolder(flags: SealInputFlags): Promise<string | undefined> {
  if (flags.file === undefined || flags.file === '-' || isLiteral(flags)) return undefined;
  return (await stat(flags.file).catch(() => undefined))?.isDirectory() === true ? flags.file : undefined;
}

/**
 * Returns the documents to seal: the Secret of the command line, or those of
 * the `-f` file (standard input by default). Throws SealboxError('INPUT') for
 * an input with no documents, a malformed literal or a literal Secret with no
 * --name, ('IO') for an unreadable file.
 */
export async function readDocuments(flags: SealInputFlags): Promise<SealInput> {
  if (isLiteral(flags)) {
    const secret = await secretFromFlags(flags, flags.name ?? '');
    if (secret.name === '') throw new SealboxError('INPUT', '--from-literal/--from-file need --name');
    return { docs: [{ index: 1, value: secretManifest(secret) }], source: 'command line' };
  }
  const source = flags.file === '-' || flags.file === undefined ? 'standard input' : flags.file;
  const docs = parseDocuments(await readText(flags.file ?? '-'), source);
  if (docs.length === 0) throw new SealboxError('INPUT', `${source}: no documents to seal`);
  return { docs, source };
}

/**
 * Returns the Secrets to merge into a sealed file: the command line's, or
 * every Secret of the `-f` file. Throws SealboxError('INPUT') for a malformed
 * Secret, or two with one namespace and name.
 */
export async function readSecrets(flags: SealInputFlags): Promise<SecretData[]> {
  return isLiteral(flags) ? [await secretFromFlags(flags, flags.name ?? '')] : secretsFromFile(flags.file ?? '-');
}

/** Lists the manifest files below `dir`. Throws SealboxError('INPUT') when there is none. */
export async function manifestFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const f of walkManifests(dir)) files.push(f);
  if (files.length === 0) throw new SealboxError('INPUT', `${dir}: no .yaml, .yml or .json files to seal`);
  return files;
}

/** Yields the documents of each file in turn, reading the next only when asked; skips files with none. */
export async function* fileDocuments(files: readonly string[]): AsyncGenerator<{ file: string; docs: SourceDocument[] }> {
  for (const file of files) {
    const docs = parseDocuments(await readText(file), file);
    if (docs.length > 0) yield { file, docs };
  }
}

/**
 * Refuses an input with no Secret in it (a ConfigMap alone): writing it back
 * would look like a success. Resources already sealed count as Secrets.
 */
export function requireSecret(found: InputSummary, source: string): void {
  if (found.secrets + found.sealed > 0) return;
  const held = found.others.length === 0 ? '' : ` (it holds ${found.others.slice(0, 3).join(', ')}${found.others.length > 3 ? ', …' : ''})`;
  throw new SealboxError('INPUT', `${source} has no Secret to seal${held}; give a file with a "kind: Secret" manifest`);
}

async function secretsFromFile(file: string): Promise<SecretData[]> {
  const source = file === '-' ? 'standard input' : file;
  const docs = parseDocuments(await readText(file), source);
  const secrets = docs.flatMap((d) => expandLists([d.value], `${source} document ${d.index}`).map((v) => parseSecret(v, `${source} document ${d.index}`)));
  const places = secrets.map((s) => `${s.namespace}/${s.name}`);
  const twice = places.find((p, i) => places.indexOf(p) !== i);
  if (twice !== undefined) throw new SealboxError('INPUT', `${source} holds two Secrets named "${twice.replace(/^\//, '')}"; give each Secret once`);
  return secrets;
}

async function secretFromFlags(flags: SealInputFlags, name: string): Promise<SecretData> {
  const data = new Map<string, Uint8Array>();
  for (const lit of flags.fromLiteral) {
    const eq = lit.indexOf('=');
    if (eq <= 0) throw new SealboxError('INPUT', `--from-literal ${lit.slice(0, 40).replace(/=.*/, '=…')}: use KEY=VALUE`);
    data.set(lit.slice(0, eq), new TextEncoder().encode(lit.slice(eq + 1)));
  }
  for (const spec of flags.fromFile) {
    const eq = spec.indexOf('=');
    const path = eq < 0 ? spec : spec.slice(eq + 1);
    data.set(eq < 0 ? basename(path) : spec.slice(0, eq), new Uint8Array(await readInput(path)));
  }
  return { name, namespace: flags.namespace ?? '', type: flags.type, labels: {}, annotations: {}, data };
}
