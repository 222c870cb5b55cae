// `sealbox convert --from-sops`: sops-encrypted Secret manifests → sealbox
// SealedSecrets sealed for the same AWS KMS / Azure Key Vault keys. The data
// key is recovered with the user's own KMS rights and the values are opened
// in memory only; each file is replaced atomically by its sealed form.
import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { describeDocument, sealDocuments } from '../../src/format/documents.js';
import { isSecretManifest } from '../../src/format/secret.js';
import type { SopsFile } from '../../src/format/sops.js';
import { decryptSopsFile, isSopsDocument, parseSopsFile } from '../../src/format/sops.js';
import type { Scope } from '../../src/crypto/types.js';
import { parseDocuments, stringifyDocuments } from '../../src/format/yaml.js';
import { readText, writeFileAtomic } from '../io.js';
import { kmsWrappers } from '../kms.js';
import { walkManifests } from '../walk.js';

/** The flags `convert --from-sops` reads (its own options are added by registerSopsOptions). */
export interface SopsConvertFlags {
  fromSops?: boolean;
  dryRun?: boolean;
  check?: boolean;
  sopsScope?: string;
}

const SCOPES: ReadonlySet<string> = new Set(['strict', 'namespace', 'cluster']);

/** Adds the options only `convert --from-sops` uses to the `convert` command; returns it. */
export function registerSopsOptions(cmd: Command): Command {
  return cmd.option('--sops-scope <scope>', 'with --from-sops: scope of the sealed values, strict | namespace | cluster', 'strict');
}

/** One sops file found under the paths, read and parsed (nothing decrypted yet). */
interface Found {
  readonly path: string;
  readonly file: SopsFile;
}

/**
 * Converts the sops files under `paths` in place: files named directly must
 * be sops files; in folders, other files are left alone. With `check`, only
 * reports the sops files left (SealboxError('FINDINGS') when there are any);
 * with `dryRun`, decrypts and seals in memory but writes nothing. Throws
 * what reading, KMS and sealing throw; a file is written only when all of
 * it converted.
 */
export async function runSopsConversion(paths: readonly string[], flags: SopsConvertFlags): Promise<void> {
  const scope = flags.sopsScope ?? 'strict';
  if (!SCOPES.has(scope)) throw new SealboxError('INPUT', `--sops-scope ${scope.slice(0, 40)}: use strict, namespace or cluster`);
  const found = await findSopsFiles(paths);
  if (flags.check === true) {
    for (const f of found) process.stdout.write(`${f.path}: sops file, not converted\n`);
    if (found.length > 0) throw new SealboxError('FINDINGS', `${String(found.length)} sops file(s) still to convert; run "sealbox convert --from-sops"`);
    return;
  }
  if (found.length === 0) throw new SealboxError('INPUT', `no sops-encrypted files under ${paths.join(', ')}`);
  for (const f of found) {
    const sealed = await convertFile(f, scope as Scope);
    if (flags.dryRun === true) {
      process.stdout.write(`${f.path}: would convert (${describeKeys(f.file)})\n`);
      continue;
    }
    await writeFileAtomic(f.path, sealed, 0o644);
    process.stdout.write(`${f.path}: converted (${describeKeys(f.file)})\n`);
  }
}

/** Reads the paths; returns the sops files among them. Throws SealboxError('INPUT') for a named file that is not one. */
async function findSopsFiles(paths: readonly string[]): Promise<Found[]> {
  const found: Found[] = [];
  for (const root of paths) {
    for await (const path of walkManifests(root)) {
      const docs = parseDocuments(await readText(path), path);
      if (docs.length > 0 && isSopsDocument(docs[0]?.value)) found.push({ path, file: parseSopsFile(docs, path) });
      else if (path === root) parseSopsFile(docs, path); // throws: named, but not a sops file
    }
  }
  return found;
}

/** Returns the sealed YAML of one sops file (values opened in memory only). */
async function convertFile(f: Found, scope: Scope): Promise<string> {
  const { sopsDataKey, sopsRecipientSpecs } = await import('../../src/keys/sops-keys.js');
  const { kmsOptionsFromEnv } = await import('../../src/keys/kms-spec.js');
  const dataKey = await sopsDataKey(f.file.meta, f.path, kmsOptionsFromEnv(process.env));
  const plain = decryptSopsFile(f.file, dataKey);
  plain.forEach((v, i) => {
    // Anything else would be written out decrypted: sops encrypted it for a reason.
    if (!isSecretManifest(v)) throw new SealboxError('INPUT', `${describeDocument(f.path, i + 1, v)} is not a v1 Secret; convert --from-sops converts Secret manifests only: move the other objects to a file of their own`);
  });
  if (f.file.meta.others.length > 0) {
    process.stderr.write(`warning: ${f.path}: its ${f.file.meta.others.join(', ')} recipients are not carried over (sealbox seals for the file's AWS KMS and Azure Key Vault keys)\n`);
  }
  const wrappers = await kmsWrappers(sopsRecipientSpecs(f.file.meta));
  const out = await sealDocuments(plain.map((value, i) => ({ index: i + 1, value })), f.path, { scope, wrappers });
  return stringifyDocuments(out, 'yaml');
}

function describeKeys(file: SopsFile): string {
  const n = file.meta.kms.length + file.meta.azureKv.length;
  return `${String(file.docs.length)} secret(s) sealed for ${String(n)} kms key(s)`;
}
