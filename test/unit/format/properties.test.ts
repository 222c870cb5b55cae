import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { sealDocuments, unsealDocuments } from '../../../src/format/documents.js';
import { parseSealedSecret } from '../../../src/format/sealed.js';
import { parseSecret } from '../../../src/format/secret.js';
import { verifyDocuments } from '../../../src/format/verify.js';
import { parseDocuments } from '../../../src/format/yaml.js';
import { LocalKey } from '../../helpers/local-key.js';
import { DELETE, pathsOf, withPath } from '../../helpers/paths.js';

// Parsers face hostile input: whatever they get, they either return or throw
// a SealboxError (which the CLI turns into "error: ..." and an exit code);
// never a TypeError, a RangeError or a stack overflow.

const key = new LocalKey('properties');
const MARKER = 'plaintext-marker-9c3b';
const secretDoc = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod', labels: { a: 'b' } }, type: 'Opaque', data: { a: Buffer.from(`${MARKER}-a`).toString('base64') }, stringData: { b: `${MARKER}-b` } };
let sealedDoc: unknown;

beforeAll(async () => {
  [sealedDoc] = await sealDocuments(parseDocuments(JSON.stringify(secretDoc), 'in'), 'in', { scope: 'strict', wrappers: [key] });
});

function onlySealboxErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof SealboxError)) throw err;
  }
}

/** `doc` with the value at one path replaced by anything, or removed. */
function mutated(doc: unknown): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...pathsOf(doc)), fc.option(fc.anything(), { freq: 4 })).map(([path, value]) => withPath(doc, path, value ?? DELETE));
}

const yamlish = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&a', '*a', '!', '!!binary', '"', "'", '#', '|', '>', '---', '?', ',', '%YAML 1.2', '<<', '\t', '\r'), maxLength: 80 }),
);

describe('parsers on arbitrary input', () => {
  it('parseDocuments only ever throws SealboxError (property)', () => {
    fc.assert(
      fc.property(yamlish, (text) => {
        onlySealboxErrors(() => parseDocuments(text, 'in'));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['parseSecret', (v: unknown) => parseSecret(v, 'in')],
    ['parseSealedSecret', (v: unknown) => parseSealedSecret(v, 'in')],
  ])('%s only ever throws SealboxError on any value (property)', (_name, parse) => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true }), (v) => {
        onlySealboxErrors(() => parse(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('parseSecret only ever throws SealboxError on a Secret with one field replaced (property)', () => {
    fc.assert(
      fc.property(mutated(secretDoc), (v) => {
        onlySealboxErrors(() => parseSecret(v, 'in'));
      }),
      { numRuns: 1000 },
    );
  });

  it('parseSealedSecret only ever throws SealboxError on a sealed resource with one field replaced (property)', () => {
    fc.assert(
      fc.property(
        fc.constant(null).chain(() => mutated(sealedDoc)),
        (v) => {
          onlySealboxErrors(() => parseSealedSecret(v, 'in'));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('verifyDocuments reports findings and never throws on parsed YAML of any shape (property)', () => {
    // what a finding must say, worked out here without verify's own helpers
    // a mapping holds one value per key; anything else there (a list, a string) counts as one
    const count = (x: unknown): number => (x === undefined || x === null ? 0 : typeof x === 'object' && !Array.isArray(x) ? Object.keys(x).length : 1);
    const expected = (value: unknown): string[] => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
      const o = value as Record<string, unknown>;
      const values = count(o.data) + count(o.stringData);
      if (typeof o.kind === 'string' && o.kind.toLowerCase() === 'secret' && values > 0) return [`plaintext Secret with ${values} value(s)`];
      if (o.apiVersion !== 'sealbox.dev/v1' || o.kind !== 'SealedSecret') return [];
      try {
        parseSealedSecret(value, 'sealed secret');
        return [];
      } catch (err) {
        return err instanceof SealboxError ? [err.message] : [];
      }
    };
    fc.assert(
      fc.property(fc.oneof(mutated(secretDoc), fc.constant(null).chain(() => mutated(sealedDoc)), fc.jsonValue()), (v) => {
        let docs: ReturnType<typeof parseDocuments>;
        try {
          docs = parseDocuments(JSON.stringify(v ?? null), 'in');
        } catch (err) {
          // the parser may refuse (a "<<" key reads as a merge key): then there is nothing to verify
          if (err instanceof SealboxError) return;
          throw err;
        }
        const findings = verifyDocuments('in', docs);
        for (const want of expected(docs[0]?.value)) expect(findings.map((f) => f.message).join('\n')).toContain(want);
        for (const f of findings) {
          expect(f).toMatchObject({ source: 'in', document: 1 });
          expect(f.message).not.toContain(MARKER);
        }
      }),
      // a "<<" key, which parseDocuments refuses, failed this property once (seed -1146434647)
      { numRuns: 500, examples: [[[{ '<<': [] }]]] },
    );
    // and the two documents the mutations start from: the plaintext Secret is reported, the sealed resource is clean
    expect(verifyDocuments('in', parseDocuments(JSON.stringify(secretDoc), 'in')).map((f) => f.message)).toEqual([
      'plaintext Secret with 2 value(s): seal it with "sealbox seal" and commit only the sealed file',
    ]);
    expect(verifyDocuments('in', parseDocuments(JSON.stringify(sealedDoc), 'in'))).toEqual([]);
  });

  it('unsealing a sealed resource with one field replaced either gives the secret back or fails with a SealboxError (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constant(null).chain(() => mutated(sealedDoc)),
        async (v) => {
          const docs = parseDocuments(JSON.stringify(v ?? null), 'in');
          try {
            await unsealDocuments(docs, 'in', [key]);
          } catch (err) {
            expect(err).toBeInstanceOf(SealboxError);
            expect((err as Error).message).not.toContain(MARKER);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
