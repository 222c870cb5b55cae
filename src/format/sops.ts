/**
 * Reads files encrypted by sops v3 (YAML store): the `sops:` metadata (which
 * keys wrap the data key, which values are encrypted, the MAC) and, given the
 * data key, the plain documents, after checking the MAC as `sops decrypt`
 * does (cmd/sops/common DecryptTree). Pure: node:crypto and yaml only; the
 * KMS calls that recover the data key live in src/keys/sops-keys.ts.
 */
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import { SealboxError, quote } from '../errors.js';
import type { JsonObject } from './object.js';
import { isObject } from './object.js';
import type { SopsMetadata } from './sops-metadata.js';
import { parseSopsMetadata } from './sops-metadata.js';
import { goScalarText, openSopsValue, sopsPlainValue } from './sops-values.js';
import type { SourceDocument } from './yaml.js';

export type { SopsAwsKey, SopsAzureKey, SopsMetadata } from './sops-metadata.js';

/** A parsed sops file: its documents (the `sops` key still in them) and its metadata. */
export interface SopsFile {
  readonly source: string;
  readonly docs: readonly SourceDocument[];
  readonly meta: SopsMetadata;
}

/** sops' MAC_ONLY_ENCRYPTED initialisation (sops.go), hashed first when mac_only_encrypted is set. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

/** True when a parsed document carries sops' metadata (a top-level `sops` mapping with a `mac`). */
export function isSopsDocument(v: unknown): boolean {
  return isObject(v) && isObject(v.sops) && 'mac' in v.sops;
}

/**
 * Returns the sops file of parsed documents: the metadata of the first
 * document (as sops reads it). Throws SealboxError('INPUT') when the first
 * document has no sops metadata or the metadata is malformed.
 */
export function parseSopsFile(docs: readonly SourceDocument[], source: string): SopsFile {
  const first = docs[0];
  if (first === undefined || !isSopsDocument(first.value)) {
    throw new SealboxError('INPUT', `${source} is not a sops-encrypted file (no "sops:" metadata with a mac); give a file written by "sops encrypt"`);
  }
  return { source, docs, meta: parseSopsMetadata((first.value as JsonObject).sops, source) };
}

/**
 * Opens every encrypted value of the file with its data key and checks the
 * MAC over all values. Returns the plain documents, `sops` removed. Throws
 * SealboxError('TAMPERED') when a value or the MAC does not authenticate or
 * the MAC does not match (a value added, removed or changed), and
 * SealboxError('INPUT') for YAML that sops would not have written.
 */
export function decryptSopsFile(file: SopsFile, dataKey: Uint8Array): JsonObject[] {
  const walker = new Walker(file, dataKey);
  const out = file.docs.map((d) => walker.document(d.doc.contents));
  const computed = walker.digest();
  const stored = openSopsValue(file.meta.mac, dataKey, file.meta.lastModified, `${file.source} sops.mac`);
  if (stored.type !== 'str' || Buffer.from(stored.bytes).toString('utf8') !== computed) {
    throw new SealboxError('TAMPERED', `${file.source}: sops' MAC does not match the values: a value was added, removed or changed outside sops; take the file from Git again (or re-encrypt it with sops)`);
  }
  return out;
}

/** Walks documents in sops' order, opening encrypted leaves and hashing every leaf for the MAC. */
class Walker {
  readonly #hash = createHash('sha512');
  readonly #file: SopsFile;
  readonly #key: Uint8Array;

  constructor(file: SopsFile, dataKey: Uint8Array) {
    this.#file = file;
    this.#key = dataKey;
    if (file.meta.macOnlyEncrypted) this.#hash.update(MAC_ONLY_ENCRYPTED_INIT);
  }

  /** The MAC of what was walked, as sops prints it (upper-case hex). */
  digest(): string {
    return this.#hash.digest('hex').toUpperCase();
  }

  document(root: Node | null): JsonObject {
    if (root === null) return {};
    if (!isMap(root)) throw this.#input('a document is not a mapping');
    const out: JsonObject = {};
    for (const pair of root.items) {
      const key = this.#key_(pair.key, []);
      if (key === 'sops') continue;
      out[key] = this.#value(pair.value as Node | null, [key]);
    }
    return out;
  }

  #value(node: Node | null, path: readonly string[]): unknown {
    if (node === null) return null;
    if (isMap(node)) {
      const out: JsonObject = {};
      for (const pair of node.items) {
        const key = this.#key_(pair.key, path);
        Object.defineProperty(out, key, { value: this.#value(pair.value as Node | null, [...path, key]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    // sops does not put list indexes into the path (sops.go walkSlice).
    if (isSeq(node)) return node.items.map((item) => this.#value(item as Node | null, path));
    if (isScalar(node)) return this.#leaf(node, path);
    throw this.#input(`the value at ${quote(path.join(':'))} is a YAML alias; write it out`);
  }

  #leaf(node: Parameters<typeof goScalarText>[0], path: readonly string[]): unknown {
    const at = `${path.join(':')}:`;
    const encrypted = shouldBeEncrypted(this.#file.meta, path);
    if (!encrypted) {
      const text = goScalarText(node, at, this.#file.source);
      if (text !== undefined && !this.#file.meta.macOnlyEncrypted) this.#hash.update(text, 'utf8');
      return node.toJSON() as unknown;
    }
    if (node.value === null) return null; // sops never encrypts null
    if (typeof node.value !== 'string') throw this.#input(`the value at ${quote(at)} should be encrypted but is not`);
    const plain = openSopsValue(node.value, this.#key, at, this.#file.source);
    if (plain.type === 'comment') return null;
    this.#hash.update(plain.bytes);
    return sopsPlainValue(plain, at, this.#file.source);
  }

  #key_(key: unknown, path: readonly string[]): string {
    if (isScalar(key) && typeof key.value === 'string') return key.value;
    throw this.#input(`a key under ${quote(path.join(':') || '(top level)')} is not a string`);
  }

  #input(problem: string): SealboxError {
    return new SealboxError('INPUT', `${this.#file.source}: ${problem}; sops would not have written it`);
  }
}

/** sops.go shouldBeEncrypted, without the comment rules (refused when the metadata is read). */
function shouldBeEncrypted(meta: SopsMetadata, path: readonly string[]): boolean {
  const r = meta.rules;
  let encrypted = true;
  if (r.unencryptedSuffix !== undefined && path.some((p) => p.endsWith(r.unencryptedSuffix ?? ''))) encrypted = false;
  if (r.encryptedSuffix !== undefined) encrypted = path.some((p) => p.endsWith(r.encryptedSuffix ?? ''));
  if (r.unencryptedRegex !== undefined && path.some((p) => r.unencryptedRegex?.test(p) === true)) encrypted = false;
  if (r.encryptedRegex !== undefined) encrypted = path.some((p) => r.encryptedRegex?.test(p) === true);
  return encrypted;
}
