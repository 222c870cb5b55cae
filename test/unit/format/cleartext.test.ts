import { beforeAll, describe, expect, it } from 'vitest';
import { PlaintextIndex, checkNoPlaintext, checkNoPlaintextDocuments, plaintextValues } from '../../../src/format/cleartext.js';
import type { PlaintextValue } from '../../../src/format/cleartext.js';
import { sealDocuments } from '../../../src/format/documents.js';
import { parseSecret } from '../../../src/format/secret.js';
import { parseDocuments, stringifyDocuments } from '../../../src/format/yaml.js';
import { LocalKey } from '../../helpers/local-key.js';
import { expectSealboxError } from '../../helpers/errors.js';

const key = new LocalKey('cleartext');
const SECRET = 'Hunter2-plaintext-marker-c1ea';
const manifest = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod' }, stringData: { password: SECRET } };
const values: PlaintextValue[] = plaintextValues([parseSecret(manifest, 'm')]);
let sealed: Record<string, unknown>;

beforeAll(async () => {
  [sealed] = (await sealDocuments(parseDocuments(JSON.stringify(manifest), 'in'), 'in', { scope: 'strict', wrappers: [key] })) as [Record<string, unknown>];
});

/** The sealed resource with `annotation` in its template. */
function withAnnotation(annotation: string, name = 'note'): string {
  const spec = sealed.spec as { template: object };
  return stringifyDocuments([{ ...sealed, spec: { ...spec, template: { ...spec.template, metadata: { annotations: { [name]: annotation } } } } }], 'yaml');
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const checking = (text: string) => (): void => {
  checkNoPlaintext(text, 'out.yaml', values);
};
/** A refusal names where the value was found, never the value. */
const HIDDEN = { secrets: [SECRET, b64(SECRET)] };

describe('checkNoPlaintext', () => {
  it('accepts sealed output: the ciphertexts and wrapped keys are not searched', () => {
    expect(() => {
      checkNoPlaintext(stringifyDocuments([sealed], 'yaml'), 'out.yaml', values);
    }).not.toThrow();
  });

  it.each<[string, string]>([
    ['as is', SECRET],
    ['inside a longer text', `the password is ${SECRET}, keep it`],
    ['in base64', b64(SECRET)],
    ['in base64 inside a longer base64 text (offset 1)', b64(`x${SECRET}yz`)],
    ['in base64 inside a longer base64 text (offset 2)', b64(`xy${SECRET}z`)],
    ['in URL-safe base64', Buffer.from(`?>${SECRET}`).toString('base64url')],
    ['in hex', Buffer.from(SECRET).toString('hex')],
    ['in upper-case hex', Buffer.from(SECRET).toString('hex').toUpperCase()],
    ['in a kubectl last-applied copy', JSON.stringify({ kind: 'Secret', stringData: { password: SECRET } })],
    ['in a last-applied copy of data', JSON.stringify({ kind: 'Secret', data: { password: b64(SECRET) } })],
    ['inside a base64 field holding JSON', b64(JSON.stringify({ auths: { r: { password: SECRET } } }))],
  ])('refuses a value %s in a template annotation, naming the field and the key, not the value', (_how, annotation) => {
    expectSealboxError(checking(withAnnotation(annotation)), 'INPUT', /^out\.yaml: .*value "password" of secret "prod\/db".*spec\.template\.metadata\.annotations\.note/, HIDDEN);
  });

  it('finds a value that JSON had to escape', () => {
    const multi: PlaintextValue[] = [{ owner: 'secret "k"', key: 'tls.key', value: Buffer.from('-----BEGIN KEY-----\nMIIabc\n"q"') }];
    const text = withAnnotation(JSON.stringify({ data: '-----BEGIN KEY-----\nMIIabc\n"q"' }));
    expect(() => {
      checkNoPlaintext(text, 'out.yaml', multi);
    }).toThrow(/value "tls\.key" of secret "k" appears JSON-escaped/);
  });

  it('refuses a value used as a key, without naming that key', () => {
    expectSealboxError(checking(withAnnotation('x', SECRET)), 'INPUT', 'a key in spec.template.metadata.annotations', HIDDEN);
  });

  it('refuses a value in a comment of the output', () => {
    expectSealboxError(checking(`# ${SECRET}\n${stringifyDocuments([sealed], 'yaml')}`), 'INPUT', 'a comment', HIDDEN);
  });

  it('refuses a value in another object of the output, and in the resource name', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { copy: SECRET } };
    expectSealboxError(checking(stringifyDocuments([sealed, cm], 'json')), 'INPUT', 'document 1, items[1].data.copy', HIDDEN);
    const named = { owner: 'secret "x"', key: 'name', value: Buffer.from('database-prod') };
    expect(() => {
      checkNoPlaintext(stringifyDocuments([{ ...sealed, metadata: { name: 'database-prod' } }], 'yaml'), 'out.yaml', [named]);
    }).toThrow(/document 1, metadata\.name/);
  });

  it.each<[string, string]>([
    ['as is', 's3cretPassw0rd'],
    ['in base64', b64('s3cretPassw0rd')],
  ])('refuses a copy without the trailing newline of a value that has one (%s), found by the re-attack', (_how, annotation) => {
    const block: PlaintextValue[] = [{ owner: 'secret "prod/db"', key: 'password', value: Buffer.from('s3cretPassw0rd\n') }];
    expect(() => {
      checkNoPlaintext(withAnnotation(`old value was ${annotation}`), 'out.yaml', block);
    }).toThrow(/value "password" of secret "prod\/db"/);
  });

  it('ignores values shorter than 8 bytes, which match too much by chance', () => {
    const short: PlaintextValue[] = [{ owner: 'secret "x"', key: 'user', value: Buffer.from('admin12') }];
    expect(() => {
      checkNoPlaintext(withAnnotation('admin12'), 'out.yaml', short);
    }).not.toThrow();
  });
});

describe('checkNoPlaintextDocuments', () => {
  it('checks documents about to be serialised the same way, naming the document', () => {
    const index = new PlaintextIndex(values);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { copy: b64(SECRET) } } };
    expect(() => {
      checkNoPlaintextDocuments([sealed, cm], 'out/a.yaml', index);
    }).toThrow(/out\/a\.yaml: refusing to write it: value "password" of secret "prod\/db" appears base64-encoded in document 2, metadata\.labels\.copy/);
    expect(() => {
      checkNoPlaintextDocuments([sealed], 'out/a.yaml', index);
    }).not.toThrow();
  });
});
