// A corpus of malformed and hostile sealed resources (issue 7, item 3): the
// same cases go through the library (test/unit/hostile-corpus.test.ts), the
// built CLI (test/cli/hostile-cli.test.ts) and the API server plus the
// controller (test/chaos/chaos-hostile-input.test.ts). Each case says
// which error an unsealer must report for it: the code, and a fragment of the
// message that names what is wrong.
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { bindingText } from '../../src/crypto/binding.js';
import { sealGroup } from '../../src/crypto/group.js';
import type { Binding, KeyWrapper } from '../../src/crypto/types.js';
import type { ErrorCode } from '../../src/errors.js';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import type { SealedSecret } from '../../src/format/sealed.js';

/** A sealed resource as plain JSON. */
export interface SealedJson {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, unknown>; annotations?: Record<string, unknown> };
  spec: {
    scope: string;
    template?: Record<string, unknown>;
    encryptedData: Record<string, string>;
    dataKeys: { group: string; binding: string; recipients: { type: string; id: string; wrapped: string }[] }[];
  };
}

/** One hostile input. */
export interface HostileCase {
  /** A short phrase for test names: "a value cut in the middle". */
  readonly what: string;
  /** DNS name of the resource (unique per corpus), for the API server. */
  readonly name: string;
  /** The file content, YAML or JSON. */
  readonly text: string;
  /** The error an unsealer must report. */
  readonly code: ErrorCode;
  /** A fragment of the message that says what is wrong. */
  readonly message: string;
}

/** Where the corpus's resources live and whom they are sealed for. */
export interface CorpusOptions {
  readonly namespace: string;
  readonly recipient: KeyWrapper;
  /** Plaintext of the sealed values; must never appear in an error. */
  readonly marker: string;
}

const HEX64 = 'e'.repeat(64);
const nested = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
};

/** Ten levels of ten aliases each: 10^9 strings if a parser expanded it. */
function billionLaughs(indent: string): string {
  const lines = [`${indent}l0: &l0 "lol"`];
  for (let i = 1; i <= 9; i++) lines.push(`${indent}l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  return lines.join('\n');
}

async function sealBase(o: CorpusOptions, name: string): Promise<SealedJson> {
  const data = new Map([
    ['username', new Uint8Array(Buffer.from(`${o.marker}-user`))],
    ['password', new Uint8Array(Buffer.from(`${o.marker}-password`))],
  ]);
  const sealed = await sealSecret({ name, namespace: o.namespace, type: 'Opaque', labels: {}, annotations: {}, data }, { scope: 'strict', wrappers: [o.recipient] });
  return sealedManifest(sealed) as unknown as SealedJson;
}

/** A sealed resource whose values total `bytes` of plaintext, past what sealSecret allows. */
async function sealOversized(o: CorpusOptions, name: string, bytes: number): Promise<SealedJson> {
  const binding: Binding = { scope: 'strict', namespace: o.namespace, name };
  const half = Math.floor(bytes / 2);
  const values = new Map([['a', new Uint8Array(half).fill(0x61)], ['b', new Uint8Array(bytes - half).fill(0x62)]]);
  const r = await sealGroup(values, binding, [o.recipient]);
  const s: SealedSecret = {
    name, namespace: o.namespace, labels: {}, annotations: {}, scope: 'strict',
    template: { type: 'Opaque', labels: {}, annotations: {} },
    encryptedData: r.values, dataKeys: [{ ...r.group, binding: bindingText(binding) }],
  };
  return sealedManifest(s) as unknown as SealedJson;
}

const yaml = (v: unknown): string => stringify(v, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
const json = (v: unknown): string => JSON.stringify(v);

/** Replaces the body of a sealed value, keeping its prefix and group. */
function withBody(value: string, body: string): string {
  const [prefix = '', group = ''] = value.split(':');
  return `${prefix}:${group}:${body}`;
}

/**
 * Builds the corpus: every case is a resource named for it, in `namespace`,
 * sealed for `recipient` where sealing is involved. About 40 cases; the
 * biggest file (10,000 recipients) is about 4.5 MB.
 */
export async function hostileCorpus(o: CorpusOptions): Promise<HostileCase[]> {
  const cases: HostileCase[] = [];
  const add = async (what: string, name: string, code: ErrorCode, message: string, build: (base: SealedJson) => string | Promise<string>): Promise<void> => {
    const base = await sealBase(o, name);
    cases.push({ what, name, code, message, text: await build(base) });
  };
  const pw = (b: SealedJson): string => b.spec.encryptedData.password ?? '';
  const g0 = (b: SealedJson): SealedJson['spec']['dataKeys'][number] => {
    const g = b.spec.dataKeys[0];
    if (g === undefined) throw new Error('base has no group');
    return g;
  };

  // truncated
  await add('a file cut in the middle of its first value', 'cut-value', 'INPUT', 'is not valid base64', (b) => {
    // 25 base64 characters: never a whole number of 4-character groups
    const text = yaml(b);
    const first = b.spec.encryptedData.username ?? '';
    return text.slice(0, text.indexOf(first) + 'sb1:0123456789abcdef:'.length + 25);
  });
  await add('a value shorter than a key check, a nonce and a tag', 'short-value', 'INPUT', 'is truncated', (b) => {
    b.spec.encryptedData.password = withBody(pw(b), Buffer.alloc(31, 7).toString('base64'));
    return yaml(b);
  });
  await add('a value with an empty body', 'empty-body', 'INPUT', 'is truncated', (b) => {
    b.spec.encryptedData.password = withBody(pw(b), '');
    return yaml(b);
  });
  await add('a JSON file cut in half', 'cut-json', 'INPUT', 'invalid YAML', (b) => json(b).slice(0, Math.floor(json(b).length / 2)));
  await add('a document that ends before its spec', 'no-spec', 'INPUT', 'spec must be a mapping', (b) => yaml({ apiVersion: b.apiVersion, kind: b.kind, metadata: b.metadata }));
  await add('a wrapped key cut short', 'cut-wrapped', 'INPUT', 'is not valid base64', (b) => {
    const r = g0(b).recipients[0];
    if (r !== undefined) r.wrapped = r.wrapped.slice(0, 101);
    return yaml(b);
  });

  // oversized
  cases.push({
    what: "values over Kubernetes' 1 MiB Secret limit", name: 'oversized', code: 'INPUT', message: "over Kubernetes' 1 MiB Secret limit",
    text: json(await sealOversized(o, 'oversized', 1024 * 1024 + 1024)),
  });
  await add('a 1 MiB metadata.name', 'huge-name', 'INPUT', 'metadata.name is missing or invalid', (b) => {
    b.metadata.name = 'a'.repeat(1024 * 1024);
    return yaml(b);
  });
  await add('a 64-character namespace', 'long-namespace', 'INPUT', 'is not a valid namespace', (b) => {
    b.metadata.namespace = 'n'.repeat(64);
    return yaml(b);
  });
  await add('a recipient id of 2,049 characters', 'long-id', 'INPUT', '.id is too long', (b) => {
    g0(b).recipients.push({ type: 'aws-kms', id: `arn:${'k'.repeat(2045)}`, wrapped: 'AAAA' });
    return yaml(b);
  });
  await add('a wrapped key over 8,192 bytes', 'long-wrapped', 'INPUT', '.wrapped is too long', (b) => {
    g0(b).recipients.push({ type: 'aws-kms', id: 'arn:aws:kms:eu-west-1:000000000000:key/x', wrapped: Buffer.alloc(8193 + 3, 1).toString('base64') });
    return yaml(b);
  });

  // versions and kinds
  await add('apiVersion sealbox.dev/v2', 'v2', 'INPUT', 'upgrade sealbox', (b) => yaml({ ...b, apiVersion: 'sealbox.dev/v2' }));
  await add('apiVersion sealbox.dev/v1beta1', 'v1beta1', 'INPUT', 'upgrade sealbox', (b) => yaml({ ...b, apiVersion: 'sealbox.dev/v1beta1' }));
  await add('a value encoded as sb2', 'sb2', 'INPUT', 'is not a sealed value', (b) => {
    b.spec.encryptedData.password = pw(b).replace(/^sb1:/, 'sb2:');
    return yaml(b);
  });
  await add('a recipient of an unknown type', 'gcp-kms', 'INPUT', 'type must be one of', (b) => {
    const r = g0(b).recipients[0];
    if (r !== undefined) r.type = 'gcp-kms';
    return yaml(b);
  });
  await add('an unknown field in spec', 'unknown-field', 'INPUT', 'unknown field "signature"', (b) => yaml({ ...b, spec: { ...b.spec, signature: 'trust me' } }));
  await add('a YAML merge key smuggling a field into spec', 'merge-key', 'INPUT', 'a merge key (<<)', (b) => yaml(b).replace(/^spec:\n/m, 'spec:\n  <<: {scope: cluster}\n'));

  // duplicates
  await add('a duplicate key in YAML', 'dup-yaml', 'INPUT', 'duplicate key', (b) => yaml(b).replace(/^( {4}password: .*)$/m, `$1\n    password: ${pw(b)}`));
  await add('a duplicate key in JSON', 'dup-json', 'INPUT', 'duplicate key', (b) => json(b).replace('"encryptedData":{', `"encryptedData":{"password":"${pw(b)}",`));
  await add('two data-key groups with one id', 'dup-group', 'INPUT', 'appears twice', (b) => {
    b.spec.dataKeys.push(structuredClone(g0(b)));
    return yaml(b);
  });

  // base64
  await add('a value with characters outside the base64 alphabet', 'b64-alphabet', 'INPUT', 'is not valid base64', (b) => {
    const body = pw(b).split(':')[2] ?? '';
    b.spec.encryptedData.password = withBody(pw(b), `${body.slice(0, 8)}!*${body.slice(10)}`);
    return yaml(b);
  });
  await add('a value without base64 padding', 'b64-padding', 'INPUT', 'is not valid base64', (b) => {
    b.spec.encryptedData.password = withBody(pw(b), Buffer.alloc(40, 3).toString('base64').replace(/=+$/, ''));
    return yaml(b);
  });
  await add('a value in non-canonical base64', 'b64-canonical', 'INPUT', 'is not valid base64', (b) => {
    // 37 bytes end in one byte: "xy==" where y's low four bits must be zero
    b.spec.encryptedData.password = withBody(pw(b), Buffer.alloc(37, 3).toString('base64').replace(/..==$/, 'AB=='));
    return yaml(b);
  });
  await add('a value in URL-safe base64', 'b64-url', 'INPUT', 'is not valid base64', (b) => {
    b.spec.encryptedData.password = withBody(pw(b), Buffer.alloc(48, 0xfb).toString('base64url'));
    return yaml(b);
  });
  await add('a wrapped key with whitespace inside', 'b64-space', 'INPUT', 'is not valid base64', (b) => {
    const r = g0(b).recipients[0];
    if (r !== undefined) r.wrapped = `${r.wrapped.slice(0, 20)} ${r.wrapped.slice(20)}`;
    return yaml(b);
  });

  // resource exhaustion
  await add('a billion-laughs alias bomb in an annotation', 'laughs', 'INPUT', 'too many YAML alias expansions', (b) => {
    const text = yaml({ ...b, metadata: { ...b.metadata, annotations: { placeholder: 'x' } } });
    return text.replace(/^ {4}placeholder: x$/m, `    bomb:\n${billionLaughs('      ')}`);
  });
  await add('a document nested 65 levels deep', 'deep-65', 'INPUT', 'nested deeper than 64 levels', (b) => yaml({ ...b, metadata: { ...b.metadata, annotations: nested(65, 'x') } }));
  await add('a document nested 100,000 levels deep', 'deep-100k', 'INPUT', 'invalid YAML', (b) => json(b).replace('"metadata":{', `"metadata":{"annotations":${'['.repeat(100_000)}${']'.repeat(100_000)},`));
  await add('10,000 recipients in one group', 'recipients-10k', 'INPUT', 'more than 100 recipients', (b) => {
    const r = g0(b).recipients[0];
    if (r === undefined) throw new Error('no recipient');
    g0(b).recipients = Array.from({ length: 10_000 }, (_, i) => ({ ...r, id: i === 0 ? r.id : randomBytes(32).toString('hex') }));
    return yaml(b);
  });
  await add('1,001 data-key groups', 'groups-1001', 'INPUT', 'more than 1000 data-key groups', (b) => {
    b.spec.dataKeys = Array.from({ length: 1001 }, (_, i) => ({ ...g0(b), group: i.toString(16).padStart(16, '0') }));
    return yaml(b);
  });
  await add('10,001 values', 'values-10001', 'INPUT', 'more than 10000 values', (b) => {
    const v = pw(b);
    b.spec.encryptedData = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, v]));
    return yaml(b);
  });

  // wrong shapes
  await add('a value that is a YAML !!binary', 'binary-value', 'INPUT', 'the tag "tag:yaml.org,2002:binary"', (b) => yaml(b).replace(/^( {4}password: ).*$/m, '$1!!binary AAAA'));
  await add('a mapping key that is itself a mapping holding the plaintext', 'collection-key', 'INPUT', 'is itself a mapping or list', (b) => yaml(b).replace(/^( {4}password: .*)$/m, `$1\n    ? {stolen: ${o.marker}}\n    : x`));
  await add('immutable given as 1e999', 'immutable-number', 'INPUT', 'immutable must be true or false', (b) => json(b).replace('"template":{', '"template":{"immutable":1e999,'));
  await add('a list where the spec should be', 'spec-list', 'INPUT', 'spec must be a mapping', (b) => yaml({ ...b, spec: [b.spec] }));
  await add('no scope', 'no-scope', 'INPUT', 'spec.scope must be strict, namespace or cluster', (b) => {
    const { scope: _scope, ...spec } = b.spec;
    return yaml({ ...b, spec });
  });
  await add('a key name with a slash', 'slash-key', 'INPUT', 'has an invalid key name', (b) => {
    b.spec.encryptedData = { '../etc/passwd': pw(b) };
    return yaml(b);
  });
  await add('a cert recipient whose id is not a fingerprint', 'bad-fingerprint', 'INPUT', 'must be a SHA-256 fingerprint', (b) => {
    const r = g0(b).recipients[0];
    if (r !== undefined) r.id = `${HEX64.slice(0, 63)}G`;
    return yaml(b);
  });
  await add('a NUL byte and invalid UTF-8 in a label', 'nul-byte', 'INPUT', 'invalid YAML', (b) => `${yaml(b)}\u0000\uFFFE\n`);

  // well-formed, refused by meaning
  await add('a value naming a data-key group the resource lacks', 'foreign-group', 'SCOPE', 'copied from another sealed secret', (b) => {
    b.spec.encryptedData.password = pw(b).replace(/^sb1:[0-9a-f]{16}:/, 'sb1:0123456789abcdef:');
    return yaml(b);
  });
  await add('no data-key groups at all', 'no-groups', 'SCOPE', 'copied from another sealed secret', (b) => yaml({ ...b, spec: { ...b.spec, dataKeys: [] } }));
  return cases;
}

/** Names of the cases that are too big for an API server request (over 3 MiB). */
export const TOO_BIG_FOR_THE_API = new Set(['recipients-10k']);
