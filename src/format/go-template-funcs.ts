/**
 * The template functions sealbox's Sealed Secrets compatibility mode offers
 * (src/format/go-template.ts): Go's text/template built-ins and the sprig
 * functions used with secrets, with sprig's argument order (the piped value
 * last) and output. docs/MIGRATION.md lists them.
 */
import { createHash } from 'node:crypto';

/** A value inside a template: strings (the unsealed values), literals, lists, the dot. */
export type TemplateValue = string | number | boolean | null | undefined | readonly TemplateValue[] | Readonly<Record<string, string>>;

type Fn = (...args: TemplateValue[]) => TemplateValue;

/**
 * Most characters a template value or a SealedSecret's rendered templates
 * may hold: a Secret holds at most 1 MiB, so nothing longer can be written,
 * and one tenant's `{{ repeat 400000000 "x" }}` must not exhaust the heap
 * that every tenant's reconciles share.
 */
export const MAX_TEMPLATE_CHARS = 1024 * 1024;

/**
 * Most work all of one SealedSecret's templates may do, in characters that
 * functions read and build (sizeOf of their arguments and results; `index`
 * of the dot counts its other arguments only): the output bound alone let
 * `{{len (splitList "" (repeat 500000 "x"))}}` print 6 characters for 40 ms
 * of the event loop, minutes for one tenant's SealedSecret (attack19). Four
 * times what a Secret holds: a 1 MiB value through one function, or 700 KB
 * through two, fits.
 */
export const MAX_TEMPLATE_WORK = 4 * MAX_TEMPLATE_CHARS;

/** The size a value counts for: characters of its strings, plus one per list item or map entry. */
export function sizeOf(v: TemplateValue): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return (v as readonly TemplateValue[]).reduce<number>((n, x) => n + 1 + sizeOf(x), 0);
  if (v !== null && typeof v === 'object') return Object.values(v as Readonly<Record<string, string>>).reduce((n, x) => n + 1 + x.length, 0);
  return 0;
}

/**
 * An error a template function throws on purpose; its message names no
 * value. Any other error (a RangeError of `' '.repeat(-4242)`) may quote its
 * arguments, which can be unsealed values: its message is never shown.
 */
export class TemplateFunctionError extends Error {}

/** Throws before building a string of `chars` characters when that is more than MAX_TEMPLATE_CHARS. */
function room(chars: number): void {
  if (!(chars <= MAX_TEMPLATE_CHARS)) throw new TemplateFunctionError(`its result would exceed ${String(MAX_TEMPLATE_CHARS)} characters, more than a Secret holds`);
}

/** sprig's strval / Go's fmt %v of one value. */
function str(v: TemplateValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** What strconv.Quote writes for each character it escapes, by character code. */
const QUOTE_ESCAPES: ReadonlyMap<number, string> = new Map([
  ...Array.from({ length: 0x20 }, (_, c): [number, string] => [c, `\\x${c.toString(16).padStart(2, '0')}`]),
  [0x7f, '\\x7f'], [0x22, '\\"'], [0x5c, '\\\\'], [0x07, '\\a'], [0x08, '\\b'], [0x0c, '\\f'], [0x0a, '\\n'], [0x0d, '\\r'], [0x09, '\\t'], [0x0b, '\\v'], [0xfffd, '\\ufffd'],
]);

/**
 * Go's strconv.Quote for the strings templates see. Built from slices
 * between the characters to escape: a loop appending one character at a
 * time took 1.7 µs a character (attack19).
 */
export function goQuote(s: string): string {
  const parts: string[] = ['"'];
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const escaped = QUOTE_ESCAPES.get(s.charCodeAt(i));
    if (escaped === undefined) continue;
    if (from < i) parts.push(s.slice(from, i));
    parts.push(escaped);
    from = i + 1;
  }
  parts.push(s.slice(from), '"');
  return parts.join('');
}

/** Go's json.Marshal: HTML-safe escapes of <, >, & and the line separators. */
export function goJson(v: unknown): string {
  return (v === undefined ? 'null' : JSON.stringify(v))
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function isEmpty(v: TemplateValue): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

function indent(n: TemplateValue, s: TemplateValue): string {
  room(Math.max(0, Number(n)) * (str(s).split('\n').length) + str(s).length);
  const pad = ' '.repeat(Number(n));
  return pad + str(s).replace(/\n/g, `\n${pad}`);
}

function hash(algorithm: string): Fn {
  return (s) => createHash(algorithm).update(str(s)).digest('hex');
}

function goPrint(args: readonly TemplateValue[]): string {
  // fmt.Sprint: a space between operands when neither is a string.
  return args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + str(a)).join('');
}

function printf(format: TemplateValue, ...args: TemplateValue[]): string {
  const f = str(format);
  const parts: string[] = [];
  let i = 0;
  let from = 0;
  for (let at = f.indexOf('%'); at >= 0 && at < f.length - 1; at = f.indexOf('%', from)) {
    const verb = f[at + 1] ?? '';
    if (!'%sdvq'.includes(verb)) {
      parts.push(f.slice(from, at + 1));
      from = at + 1;
      continue;
    }
    const a = verb === '%' ? undefined : args[i++];
    parts.push(f.slice(from, at), verb === '%' ? '%' : verb === 'q' ? goQuote(str(a)) : str(a));
    from = at + 2;
  }
  parts.push(f.slice(from));
  return parts.join('');
}

function index(item: TemplateValue, ...keys: TemplateValue[]): TemplateValue {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v)) v = (v as TemplateValue[])[Number(k)];
    else if (v !== null && typeof v === 'object') v = Object.hasOwn(v, str(k)) ? (v as Record<string, string>)[str(k)] : '';
    else throw new TemplateFunctionError(`cannot index ${typeof v}`);
  }
  return v;
}

/** The functions, by name. */
export const TEMPLATE_FUNCTIONS: Readonly<Record<string, Fn>> = {
  // Go's built-ins
  index,
  len: (v) => (typeof v === 'string' ? Buffer.byteLength(v) : Array.isArray(v) ? v.length : v !== null && typeof v === 'object' ? Object.keys(v).length : 0),
  print: (...a) => goPrint(a),
  println: (...a) => `${a.map(str).join(' ')}\n`,
  printf,
  urlquery: (...a) => encodeURIComponent(a.map(str).join('')).replace(/%20/g, '+'),
  not: (v) => isEmpty(v),
  eq: (a, ...b) => b.some((x) => x === a),
  ne: (a, b) => a !== b,
  // sprig: strings
  toString: (v: TemplateValue) => str(v),
  quote: (...a) => a.filter((x) => x !== null && x !== undefined).map((x) => goQuote(str(x))).join(' '),
  squote: (...a) => a.filter((x) => x !== null && x !== undefined).map((x) => `'${str(x)}'`).join(' '),
  upper: (s) => str(s).toUpperCase(),
  lower: (s) => str(s).toLowerCase(),
  trim: (s) => str(s).trim(),
  trimPrefix: (p, s) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
  trimSuffix: (p, s) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
  replace: (o, n, s) => {
    const parts = str(s).split(str(o));
    room(str(s).length + (parts.length - 1) * str(n).length);
    return parts.join(str(n));
  },
  contains: (sub, s) => str(s).includes(str(sub)),
  hasPrefix: (p, s) => str(s).startsWith(str(p)),
  hasSuffix: (p, s) => str(s).endsWith(str(p)),
  repeat: (n, s) => {
    room(Math.max(0, Number(n)) * str(s).length);
    return str(s).repeat(Math.max(0, Number(n)));
  },
  nospace: (s) => str(s).replace(/\s+/g, ''),
  indent,
  nindent: (n, s) => `\n${indent(n, s)}`,
  cat: (...a) => a.filter((x) => x !== null && x !== undefined).map(str).join(' '),
  join: (sep, list) => {
    if (!Array.isArray(list)) return str(list);
    room(sizeOf(list) + Math.max(0, list.length - 1) * str(sep).length);
    return (list as TemplateValue[]).map(str).join(str(sep));
  },
  splitList: (sep, s) => str(s).split(str(sep)),
  list: (...a) => a,
  default: (d, ...v) => (v.length === 0 || isEmpty(v[0]) ? d : v[0]),
  empty: (v) => isEmpty(v),
  coalesce: (...a) => a.find((x) => !isEmpty(x)) ?? null,
  // sprig: encodings and digests
  b64enc: (s) => Buffer.from(str(s), 'utf8').toString('base64'),
  b64dec: (s) => Buffer.from(str(s), 'base64').toString('utf8'),
  b32enc: (s) => base32(Buffer.from(str(s), 'utf8')),
  toJson: (v) => goJson(v ?? null),
  toPrettyJson: (v) => JSON.stringify(v ?? null, null, 2).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'),
  toRawJson: (v) => JSON.stringify(v ?? null),
  sha256sum: hash('sha256'),
  sha1sum: hash('sha1'),
};

const BASE32 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');

/** RFC 4648 base32 with padding, into a byte buffer (a string appended per character took 1 µs a byte). */
function base32(bytes: Uint8Array): string {
  const out = Buffer.alloc(Math.ceil(bytes.length / 5) * 8, '=');
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff; // at most 12 bits are pending
    bits += 8;
    while (bits >= 5) {
      out[at++] = BASE32[(value >>> (bits - 5)) & 31] ?? 0;
      bits -= 5;
    }
  }
  if (bits > 0) out[at] = BASE32[(value << (5 - bits)) & 31] ?? 0;
  return out.toString('latin1');
}
