/**
 * The last line of the rule that no plaintext leaves sealbox in a cleartext
 * field (managed.ts and lists.ts hold the others): before sealed output is
 * written, it is searched for every value being sealed (8 bytes or more),
 * raw, JSON-escaped, hex or base64 (at any alignment, standard or URL-safe
 * alphabet, or inside a base64 field), in every field, key and comment
 * except the ciphertexts themselves. A match refuses the output with an
 * error that names the field, never the value.
 */
import { visit } from 'yaml';
import type { Document } from 'yaml';
import { SealboxError } from '../errors.js';
import { isObject } from './object.js';
import { isSealedManifest } from './sealed.js';
import type { SecretData } from './secret.js';
import { parseDocuments } from './yaml.js';

/** Shortest value the output self-check looks for; shorter ones match too much by chance. */
export const MIN_CHECKED_BYTES = 8;

/** One value being sealed, and what to call it in a message (never the value). */
export interface PlaintextValue {
  readonly owner: string;
  readonly key: string;
  readonly value: Uint8Array;
}

/** The values of `secrets`, for checkNoPlaintext. */
export function plaintextValues(secrets: readonly SecretData[]): PlaintextValue[] {
  return secrets.flatMap((s) => {
    const owner = `secret "${s.namespace === '' ? '' : `${s.namespace}/`}${s.name}"`;
    return [...s.data].map(([key, value]) => ({ owner, key, value }));
  });
}

type Form = 'as is' | 'JSON-escaped' | 'hex-encoded' | 'base64-encoded' | 'inside a base64 field';
interface Needle {
  readonly text: string;
  readonly form: Form;
  readonly of: PlaintextValue;
}
type NeedleMap = Map<string, Needle[]>;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

function add(map: NeedleMap, text: string, form: Form, of: PlaintextValue): void {
  if (text.length < MIN_CHECKED_BYTES) return;
  const head = text.slice(0, MIN_CHECKED_BYTES);
  const list = map.get(head);
  if (list === undefined) map.set(head, [{ text, form, of }]);
  else list.push({ text, form, of });
}

/**
 * `v` and, when they differ, its forms without surrounding white space:
 * values often end in a newline (a YAML `|` block, `--from-file` of a text
 * file) that a copy pasted into an annotation leaves out.
 */
function trimmedForms(v: PlaintextValue): PlaintextValue[] {
  const forms = [v];
  const text = latin1(v.value);
  for (const t of new Set([text.trimEnd(), text.trim()])) {
    if (t !== text) forms.push({ ...v, value: new Uint8Array(Buffer.from(t, 'latin1')) });
  }
  return forms;
}

/** An index of the encodings of the values being sealed, searched in one pass per string; build it once for many outputs. */
export class PlaintextIndex {
  private readonly raw: NeedleMap = new Map();
  private readonly hex: NeedleMap = new Map();
  private readonly b64: NeedleMap = new Map();

  /** Indexes every value of 8 bytes or more of `values`. */
  constructor(values: readonly PlaintextValue[]) {
    for (const v of values.flatMap(trimmedForms)) {
      if (v.value.length < MIN_CHECKED_BYTES) continue;
      const raw = latin1(v.value);
      add(this.raw, raw, 'as is', v);
      const text = Buffer.from(v.value).toString('utf8');
      const escaped = JSON.stringify(text).slice(1, -1);
      if (Buffer.from(text, 'utf8').equals(Buffer.from(v.value)) && escaped !== text) add(this.raw, latin1(Buffer.from(escaped, 'utf8')), 'JSON-escaped', v);
      add(this.hex, Buffer.from(v.value).toString('hex'), 'hex-encoded', v);
      // The value may start at any byte of a longer base64 text: keep the
      // characters that only its own bytes decide, for each of the 3 offsets.
      for (let skip = 0; skip < 3; skip++) {
        const whole = Math.floor((v.value.length - skip) / 3) * 3;
        if (whole >= 6) add(this.b64, Buffer.from(v.value.subarray(skip, skip + whole)).toString('base64'), 'base64-encoded', v);
      }
    }
  }

  /** True when no value is long enough to be looked for. */
  get empty(): boolean {
    return this.raw.size === 0;
  }

  /** Returns the first value found in `s`, and how. */
  find(s: string): Needle | undefined {
    if (s.length < 6) return undefined;
    const found = scan(latin1(Buffer.from(s, 'utf8')), this.raw) ?? scan(s.toLowerCase(), this.hex) ?? scan(s.replace(/-/g, '+').replace(/_/g, '/'), this.b64);
    if (found !== undefined) return found;
    const compact = s.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
    if (compact.length >= 12 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
      const inner = scan(Buffer.from(compact, 'base64').toString('latin1'), this.raw);
      if (inner !== undefined) return { ...inner, form: 'inside a base64 field' };
    }
    return undefined;
  }
}

function scan(hay: string, map: NeedleMap): Needle | undefined {
  for (let i = 0; i + MIN_CHECKED_BYTES <= hay.length; i++) {
    const list = map.get(hay.slice(i, i + MIN_CHECKED_BYTES));
    if (list === undefined) continue;
    const hit = list.find((n) => hay.startsWith(n.text, i));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function fieldName(parent: string, key: string): string {
  const shown = /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
  return parent === '' ? shown : `${parent}.${shown}`;
}

/** True for the ciphertext fields of a sealed resource, relative to it: the only fields not searched. */
function isCiphertext(rel: readonly (string | number)[]): boolean {
  const [a, b, c, d, e, f] = rel;
  if (a !== 'spec') return false;
  if (b === 'encryptedData') return rel.length === 3;
  return b === 'dataKeys' && typeof c === 'number' && d === 'recipients' && typeof e === 'number' && f === 'wrapped' && rel.length === 6;
}

interface Hit {
  readonly needle: Needle;
  readonly where: string;
}

function search(v: unknown, index: PlaintextIndex, path: string, rel: (string | number)[] | undefined): Hit | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') {
    if (rel !== undefined && isCiphertext(rel)) return undefined;
    const needle = index.find(String(v));
    return needle === undefined ? undefined : { needle, where: path === '' ? 'the document' : path };
  }
  const inner = (child: unknown, name: string, step: string | number): Hit | undefined =>
    search(child, index, name, isSealedManifest(child) ? [] : rel === undefined ? undefined : [...rel, step]);
  if (Array.isArray(v)) {
    for (const [i, child] of v.entries()) {
      const hit = inner(child, `${path}[${i}]`, i);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (!isObject(v)) return undefined;
  for (const [k, child] of Object.entries(v)) {
    const keyHit = index.find(k);
    if (keyHit !== undefined) return { needle: keyHit, where: `a key in ${path === '' ? 'the document' : path}` };
    const hit = inner(child, fieldName(path, k), k);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function commentsOf(doc: Document): string[] {
  const out = [doc.commentBefore ?? '', doc.comment ?? ''];
  visit(doc, {
    Node(_, node) {
      out.push(node.commentBefore ?? '', node.comment ?? '');
    },
  });
  return out.filter((c) => c !== '');
}

function refuse(source: string, document: number, hit: Hit): never {
  const { of, form } = hit.needle;
  throw new SealboxError('INPUT', `${source}: refusing to write it: value "${of.key.slice(0, 64)}" of ${of.owner} appears ${form} in document ${document}, ${hit.where}, which is not encrypted; remove it from there (or, if it is not secret, keep it out of the Secret). Nothing was written`);
}

const indexOf = (values: readonly PlaintextValue[] | PlaintextIndex): PlaintextIndex => (values instanceof PlaintextIndex ? values : new PlaintextIndex(values));

/**
 * Checks output that is about to be written: no value of `values` (of 8
 * bytes or more) may appear in any of its fields, keys or comments, raw,
 * JSON-escaped, hex or base64, except in the ciphertexts of sealed
 * resources. Throws SealboxError('INPUT') naming `source`, the document, the
 * field and the Secret key, never the value; nothing has been written then.
 * Pass a PlaintextIndex to check many outputs against the same values.
 */
export function checkNoPlaintext(text: string, source: string, values: readonly PlaintextValue[] | PlaintextIndex): void {
  const index = indexOf(values);
  if (index.empty) return;
  for (const d of parseDocuments(text, `${source} (output)`)) {
    const hit = search(d.value, index, '', isSealedManifest(d.value) ? [] : undefined)
      ?? commentsOf(d.doc).map((c) => index.find(c)).filter((n) => n !== undefined).map((needle) => ({ needle, where: 'a comment' }))[0];
    if (hit !== undefined) refuse(source, d.index, hit);
  }
}

/**
 * The same check on the documents that stringifyDocuments is about to
 * serialise (output sealbox writes from scratch, which has no comments):
 * saves parsing the text again when many files are written.
 */
export function checkNoPlaintextDocuments(docs: readonly unknown[], source: string, values: readonly PlaintextValue[] | PlaintextIndex): void {
  const index = indexOf(values);
  if (index.empty) return;
  docs.forEach((v, i) => {
    const hit = search(v, index, '', isSealedManifest(v) ? [] : undefined);
    if (hit !== undefined) refuse(source, i + 1, hit);
  });
}
