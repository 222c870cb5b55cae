// The tampering matrix (issue 7, item 4) in one table: every field of a sealed
// resource changed in every way that matters, each refused with its own code
// and reason. The cluster holds test key "a"; the attacker holds key "b" and
// a's public certificate (anyone may). A second table pins down the edits the
// format does not detect by design (docs/FORMAT.md section 9, docs/SECURITY.md).
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { sealGroup } from '../../src/crypto/group.js';
import type { Binding, Scope } from '../../src/crypto/types.js';
import { SealboxError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { unsealDocuments } from '../../src/format/documents.js';
import { sealSecret } from '../../src/format/seal.js';
import { groupManifest, sealedManifest } from '../../src/format/sealed.js';
import { parseDocuments } from '../../src/format/yaml.js';
import type { SealedJson } from '../chaos/corpus.js';
import { vectorIdentity, vectorRecipient } from '../helpers/keys.js';

const MARKER = `tamper-${randomBytes(8).toString('hex')}`;
const cluster = vectorRecipient('a');
const attacker = vectorRecipient('b');

type Group = SealedJson['spec']['dataKeys'][number];
interface Fixtures {
  /** strict prod/db {username, password} for the cluster */
  db: SealedJson;
  /** strict prod/api {token}: another resource in the same namespace */
  api: SealedJson;
  /** strict staging/db: the same name in another namespace */
  stagingDb: SealedJson;
  /** namespace-wide prod {password} */
  nsWide: SealedJson;
  /** prod/db for the cluster and the attacker's key */
  twoRecipients: SealedJson;
}
let f: Fixtures;

async function sealed(name: string, namespace: string, data: Record<string, string>, scope: Scope = 'strict', wrappers = [cluster]): Promise<SealedJson> {
  const values = new Map(Object.entries(data).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]));
  const s = await sealSecret({ name, namespace, type: 'Opaque', labels: {}, annotations: {}, data: values }, { scope, wrappers });
  return sealedManifest(s) as unknown as SealedJson;
}

beforeAll(async () => {
  const secret = { username: `${MARKER}-user`, password: `${MARKER}-password` };
  f = {
    db: await sealed('db', 'prod', secret),
    api: await sealed('api', 'prod', { token: `${MARKER}-token` }),
    stagingDb: await sealed('db', 'staging', secret),
    nsWide: await sealed('shared', 'prod', { password: `${MARKER}-ns` }, 'namespace'),
    twoRecipients: await sealed('db', 'prod', secret, 'strict', [cluster, attacker]),
  };
});

/** A deep copy of `base` after `edit`. */
function edited(base: SealedJson, edit: (s: SealedJson) => void): SealedJson {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}
const group = (s: SealedJson, i = 0): Group => {
  const g = s.spec.dataKeys[i];
  if (g === undefined) throw new Error(`no group ${i}`);
  return g;
};
const value = (s: SealedJson, key: string): string => s.spec.encryptedData[key] ?? '';

/** Flips one bit of byte `at` of a sealed value's body (key check 0-3, nonce 4-15, then ciphertext, tag last 16). */
function flipValue(v: string, at: (length: number) => number): string {
  const [prefix = '', g = '', body = ''] = v.split(':');
  const bytes = Buffer.from(body, 'base64');
  const i = at(bytes.length);
  bytes[i] = (bytes[i] ?? 0) ^ 0x01;
  return `${prefix}:${g}:${bytes.toString('base64')}`;
}
function flipBase64(b64: string, at: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[at] = (bytes[at] ?? 0) ^ 0x80;
  return bytes.toString('base64');
}
const bindingOf = (s: SealedJson): Binding => ({ scope: s.spec.scope as Scope, namespace: s.metadata.namespace ?? '', name: s.metadata.name });

/** A stanza for the cluster's key that wraps the attacker's own data key, under the right label. */
async function foreignDataKeyStanza(s: SealedJson): Promise<Group['recipients'][number]> {
  const wrapped = await cluster.wrap(new Uint8Array(randomBytes(32)), bindingOf(s));
  return { type: wrapped.type, id: wrapped.id, wrapped: Buffer.from(wrapped.wrapped).toString('base64') };
}

async function unseal(s: SealedJson): Promise<Record<string, string>> {
  const [secret] = await unsealDocuments(parseDocuments(JSON.stringify(s), 'sealed.yaml'), 'sealed.yaml', [vectorIdentity('a')]);
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

interface Tampering {
  /** the field, and how it changed */
  readonly what: string;
  readonly make: () => SealedJson | Promise<SealedJson>;
  readonly code: ErrorCode;
  readonly reason: string;
}

const matrix: Tampering[] = [
  // values moved
  { what: 'encryptedData: two values swapped between keys', make: () => edited(f.db, (s) => { s.spec.encryptedData = { username: value(f.db, 'password'), password: value(f.db, 'username') }; }), code: 'SCOPE', reason: 'was sealed under another key name' },
  { what: 'encryptedData: a value copied under a new key name', make: () => edited(f.db, (s) => { s.spec.encryptedData.admin = value(f.db, 'password'); }), code: 'SCOPE', reason: 'value "admin" was sealed under another key name' },
  { what: 'encryptedData: a value copied from another resource', make: () => edited(f.db, (s) => { s.spec.encryptedData.password = value(f.api, 'token'); }), code: 'SCOPE', reason: 'copied from another sealed secret' },
  { what: 'encryptedData: a value copied from the same-named resource of another namespace', make: () => edited(f.db, (s) => { s.spec.encryptedData.password = value(f.stagingDb, 'password'); }), code: 'SCOPE', reason: 'copied from another sealed secret' },
  // data-key groups reused
  { what: 'dataKeys: another resource\'s group reused, with its value', make: () => edited(f.db, (s) => { s.spec.encryptedData.token = value(f.api, 'token'); s.spec.dataKeys.push(group(f.api)); }), code: 'SCOPE', reason: 'is bound to secret name "api" but the resource is named "db"' },
  { what: 'dataKeys: another resource\'s group reused, its recorded binding rewritten', make: () => edited(f.db, (s) => { s.spec.encryptedData.token = value(f.api, 'token'); s.spec.dataKeys.push({ ...group(f.api), binding: 'strict/prod/db' }); }), code: 'TAMPERED', reason: 'does not decrypt for this resource' },
  { what: 'dataKeys: another namespace\'s group reused, its recorded binding rewritten', make: () => edited(f.db, (s) => { s.spec.dataKeys = [{ ...group(f.stagingDb), binding: 'strict/prod/db' }]; s.spec.encryptedData = { ...f.stagingDb.spec.encryptedData }; }), code: 'TAMPERED', reason: 'does not decrypt for this resource' },
  // the resource moved
  { what: 'metadata.namespace: the resource moved to another namespace', make: () => edited(f.db, (s) => { s.metadata.namespace = 'staging'; }), code: 'SCOPE', reason: 'is bound to namespace "prod" but was found in "staging"' },
  { what: 'metadata.name: the resource renamed', make: () => edited(f.db, (s) => { s.metadata.name = 'db-copy'; }), code: 'SCOPE', reason: 'is bound to secret name "db" but the resource is named "db-copy"' },
  { what: 'metadata.namespace: a namespace-wide resource moved to another namespace', make: () => edited(f.nsWide, (s) => { s.metadata.namespace = 'staging'; }), code: 'SCOPE', reason: 'is bound to namespace "prod" but was found in "staging"' },
  { what: 'metadata: moved, with every recorded binding rewritten to match', make: () => edited(f.db, (s) => { s.metadata.namespace = 'staging'; group(s).binding = 'strict/staging/db'; }), code: 'TAMPERED', reason: 'does not decrypt for this resource' },
  // scope downgraded
  { what: 'spec.scope: strict downgraded to cluster', make: () => edited(f.db, (s) => { s.spec.scope = 'cluster'; }), code: 'SCOPE', reason: 'was sealed with scope "strict" but the resource says "cluster"' },
  { what: 'spec.scope: strict downgraded to namespace', make: () => edited(f.db, (s) => { s.spec.scope = 'namespace'; }), code: 'SCOPE', reason: 'was sealed with scope "strict" but the resource says "namespace"' },
  { what: 'spec.scope: strict downgraded to cluster, recorded binding rewritten to match', make: () => edited(f.db, (s) => { s.spec.scope = 'cluster'; group(s).binding = 'cluster'; }), code: 'TAMPERED', reason: 'does not decrypt for this resource' },
  // group id and binding edited
  { what: 'dataKeys[].group: the id edited in the group and in every value', make: () => edited(f.db, (s) => { const id = '0123456789abcdef'; const old = group(s).group; group(s).group = id; for (const k of Object.keys(s.spec.encryptedData)) s.spec.encryptedData[k] = value(s, k).replace(old, id); }), code: 'TAMPERED', reason: 'is not the one group 0123456789abcdef commits to' },
  { what: 'dataKeys[].group: the id edited in the group only', make: () => edited(f.db, (s) => { group(s).group = '0123456789abcdef'; }), code: 'SCOPE', reason: 'copied from another sealed secret' },
  { what: 'dataKeys[].binding: the recorded binding edited', make: () => edited(f.db, (s) => { group(s).binding = 'strict/prod/other'; }), code: 'SCOPE', reason: 'is bound to secret name "other"' },
  { what: 'dataKeys[].binding: replaced by text that is no binding', make: () => edited(f.db, (s) => { group(s).binding = 'strict/prod/db/extra'; }), code: 'SCOPE', reason: 'records binding "strict/prod/db/extra"' },
  // groups and recipients removed or swapped
  { what: 'dataKeys: the group removed', make: () => edited(f.db, (s) => { s.spec.dataKeys = []; }), code: 'SCOPE', reason: 'copied from another sealed secret' },
  { what: 'recipients: all removed', make: () => edited(f.db, (s) => { group(s).recipients = []; }), code: 'INPUT', reason: 'recipients must be a non-empty list' },
  { what: 'recipients: the cluster\'s stanza removed, the attacker\'s kept', make: () => edited(f.twoRecipients, (s) => { group(s).recipients = group(s).recipients.filter((r) => r.id === attacker.recipient.id); }), code: 'NO_KEY', reason: `whose recipients are cert:${attacker.recipient.id.slice(0, 12)}` },
  { what: 'recipients: the cluster\'s stanza swapped for one to the attacker\'s key', make: () => edited(f.db, (s) => { group(s).recipients = [{ type: 'cert', id: attacker.recipient.id, wrapped: group(f.twoRecipients).recipients[1]?.wrapped ?? '' }]; }), code: 'NO_KEY', reason: 'none of your keys' },
  { what: 'recipients[].id: renamed to another key', make: () => edited(f.db, (s) => { const r = group(s).recipients[0]; if (r) r.id = 'e'.repeat(64); }), code: 'NO_KEY', reason: 'whose recipients are cert:eeeeeeeeeeee' },
  { what: 'recipients[].type: cert relabelled aws-kms', make: () => edited(f.db, (s) => { const r = group(s).recipients[0]; if (r) r.type = 'aws-kms'; }), code: 'NO_KEY', reason: 'none of your keys' },
  { what: 'recipients[].id: the attacker\'s wrap labelled with the cluster\'s key id', make: () => edited(f.db, (s) => { group(s).recipients = [{ type: 'cert', id: cluster.recipient.id, wrapped: group(f.twoRecipients).recipients[1]?.wrapped ?? '' }]; }), code: 'TAMPERED', reason: 'does not decrypt for this resource' },
  { what: 'recipients[].wrapped: replaced by a wrap of the attacker\'s own data key for the cluster\'s key', make: async () => { const stanza = await foreignDataKeyStanza(f.db); return edited(f.db, (s) => { group(s).recipients = [stanza]; }); }, code: 'TAMPERED', reason: 'is not the one group' },
  { what: 'recipients[].wrapped: one bit flipped', make: () => edited(f.db, (s) => { const r = group(s).recipients[0]; if (r) r.wrapped = flipBase64(r.wrapped, 100); }), code: 'TAMPERED', reason: 'does not decrypt for this resource' },
  // bits of a value
  { what: 'value: key check flipped', make: () => edited(f.db, (s) => { s.spec.encryptedData.password = flipValue(value(s, 'password'), () => 0); }), code: 'TAMPERED', reason: 'value "password" does not authenticate' },
  { what: 'value: nonce flipped', make: () => edited(f.db, (s) => { s.spec.encryptedData.password = flipValue(value(s, 'password'), () => 4); }), code: 'TAMPERED', reason: 'value "password" does not authenticate' },
  { what: 'value: ciphertext flipped', make: () => edited(f.db, (s) => { s.spec.encryptedData.password = flipValue(value(s, 'password'), () => 16); }), code: 'TAMPERED', reason: 'value "password" does not authenticate' },
  { what: 'value: tag flipped', make: () => edited(f.db, (s) => { s.spec.encryptedData.password = flipValue(value(s, 'password'), (n) => n - 1); }), code: 'TAMPERED', reason: 'value "password" does not authenticate' },
  { what: 'value: tag cut off', make: () => edited(f.db, (s) => { const [p, g, b] = value(s, 'password').split(':'); s.spec.encryptedData.password = `${p ?? ''}:${g ?? ''}:${Buffer.from(b ?? '', 'base64').subarray(0, -16).toString('base64')}`; }), code: 'TAMPERED', reason: 'value "password" does not authenticate' },
  { what: 'value: a byte appended', make: () => edited(f.db, (s) => { const [p, g, b] = value(s, 'password').split(':'); s.spec.encryptedData.password = `${p ?? ''}:${g ?? ''}:${Buffer.concat([Buffer.from(b ?? '', 'base64'), Buffer.of(0)]).toString('base64')}`; }), code: 'TAMPERED', reason: 'value "password" does not authenticate' },
  // format identity
  { what: 'apiVersion: another format version', make: () => edited(f.db, (s) => { s.apiVersion = 'sealbox.dev/v2'; }), code: 'INPUT', reason: 'upgrade sealbox' },
];

describe('the tampering matrix', () => {
  it.each(matrix)('refuses $what with $code', async ({ make, code, reason }) => {
    const tampered = await make();
    let err: unknown;
    try {
      await unseal(tampered);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SealboxError);
    const e = err as SealboxError;
    expect({ code: e.code, message: e.message }).toMatchObject({ code, message: expect.stringContaining(reason) as unknown });
    expect(e.message).not.toContain(MARKER);
    expect(JSON.stringify(e.cause ?? null)).not.toContain(MARKER);
  });

  it('unseals every untouched fixture, so each refusal comes from its edit', async () => {
    for (const s of [f.db, f.api, f.stagingDb, f.nsWide, f.twoRecipients]) expect(Object.values(await unseal(s)).every((v) => v.startsWith(MARKER))).toBe(true);
  });
});

// What the format cannot see (docs/FORMAT.md section 9): these edits unseal.
// Guarding who may merge into Git is what stops them.
describe('edits the format does not detect, by design', () => {
  it.each([
    {
      what: 'a value deleted',
      make: () => Promise.resolve(edited(f.db, (s) => { delete s.spec.encryptedData.username; })),
      check: (d: Record<string, string>) => Object.keys(d).length === 1 && d.password === `${MARKER}-password`,
    },
    {
      what: 'the template changed (type, labels, annotations are not authenticated)',
      make: () => Promise.resolve(edited(f.db, (s) => { s.spec.template = { type: 'example.com/other', metadata: { labels: { added: 'by-attacker' } } }; })),
      check: (d: Record<string, string>) => d.password === `${MARKER}-password`,
    },
    {
      what: 'a value added under a new data key by someone with only the public certificate',
      make: async () => {
        const added = await sealGroup(new Map([['injected', new Uint8Array(Buffer.from('attacker-chosen'))]]), bindingOf(f.db), [cluster]);
        return edited(f.db, (s) => {
          s.spec.encryptedData.injected = `sb1:${added.group.id}:${Buffer.from(added.values.get('injected')?.sealed ?? []).toString('base64')}`;
          s.spec.dataKeys.push(groupManifest({ ...added.group, binding: 'strict/prod/db' }) as unknown as Group);
        });
      },
      check: (d: Record<string, string>) => d.injected === 'attacker-chosen' && d.password === `${MARKER}-password`,
    },
    {
      what: 'a useless stanza for the attacker\'s key added beside the cluster\'s',
      make: () => Promise.resolve(edited(f.db, (s) => { group(s).recipients.push({ type: 'cert', id: attacker.recipient.id, wrapped: Buffer.alloc(256, 1).toString('base64') }); })),
      check: (d: Record<string, string>) => d.password === `${MARKER}-password`,
    },
  ])('$what: unseals', async ({ make, check }) => {
    expect(check(await unseal(await make()))).toBe(true);
  });

  it('a rollback (an older sealed version) unseals to the older values', async () => {
    const older = await sealed('db', 'prod', { password: 'old-password' });
    expect(await unseal(older)).toEqual({ password: 'old-password' });
  });
});
