import { describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES, parseDocuments, stringifyDocument, stringifyDocuments } from '../../../src/format/yaml.js';
import { expectSealboxError } from '../../helpers/errors.js';

const parsing = (text: string) => () => parseDocuments(text, 'in.yaml');

/** A "billion laughs" document: each level refers to the previous one ten times. */
function aliasBomb(levels: number): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n');
}

describe('parseDocuments', () => {
  it('reads every document of a multi-document stream, numbering them from 1', () => {
    const docs = parseDocuments('a: 1\n---\nb: 2\n---\nc: 3\n', 'in.yaml');
    expect(docs.map((d) => [d.index, d.value])).toEqual([
      [1, { a: 1 }],
      [2, { b: 2 }],
      [3, { c: 3 }],
    ]);
  });

  it('skips empty documents but keeps the numbering of the others', () => {
    const docs = parseDocuments('---\n# only a comment\n---\nb: 2\n', 'in.yaml');
    expect(docs.map((d) => [d.index, d.value])).toEqual([[2, { b: 2 }]]);
  });

  it.each(['', '\n\n', '# comment\n'])('returns no document for %j', (text) => {
    expect(parseDocuments(text, 'in.yaml')).toEqual([]);
  });

  it('reads JSON', () => {
    expect(parseDocuments('{"kind": "Secret", "data": {"a": "YQ=="}}', 'in.json')[0]?.value).toEqual({ kind: 'Secret', data: { a: 'YQ==' } });
  });

  it('names the file, the document, the line and the column of a syntax error', () => {
    const { message } = expectSealboxError(parsing('a: 1\n---\nb: [1, 2\nc: 3\n'), 'INPUT', /^in\.yaml document 2: invalid YAML at line \d+, column \d+: /);
    expect(message).not.toContain('\n');
  });

  it('refuses duplicate keys, which would let one value hide another', () => {
    expectSealboxError(parsing('data:\n  password: YQ==\n  password: Yg==\n'), 'INPUT', /^in\.yaml document 1: invalid YAML at line 3, column 3: duplicate key$/);
  });

  it('refuses a "billion laughs" alias bomb quickly', () => {
    const started = Date.now();
    expectSealboxError(parsing(aliasBomb(8)), 'INPUT', 'too many YAML alias expansions');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts a few ordinary aliases', () => {
    const [doc] = parseDocuments('base: &b {x: 1}\none: *b\ntwo: *b\n', 'in.yaml');
    expect(doc?.value).toEqual({ base: { x: 1 }, one: { x: 1 }, two: { x: 1 } });
  });

  it.each([
    ['flow sequences', (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`],
    ['flow mappings', (n: number) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}`],
  ])('refuses %s nested deeper than 64 levels', (_what, nest) => {
    expect(parseDocuments(nest(60), 'in.yaml')).toHaveLength(1);
    expectSealboxError(parsing(nest(100)), 'INPUT', 'nested deeper than 64 levels');
  });

  it('refuses input over the size limit before parsing it', () => {
    const text = `a: "${'x'.repeat(MAX_INPUT_BYTES)}"`;
    expectSealboxError(parsing(text), 'INPUT', /^in\.yaml: larger than 64 MiB; split it into smaller files$/);
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    expectSealboxError(parsing('é'.repeat(MAX_INPUT_BYTES / 2 + 1)), 'INPUT', /^in\.yaml: larger than 64 MiB/);
  });

  it('keeps the AST so a document in sealbox\'s own layout is written back unchanged', () => {
    const text = '# keep me\napiVersion: v1 # and me\nkind: Secret\nlist:\n  - a\n  - "b"\nblock: |\n  x\n';
    const [doc] = parseDocuments(text, 'in.yaml');
    expect(doc && stringifyDocument(doc.doc)).toBe(text);
  });
});

describe('stringifyDocuments', () => {
  const long = 'x'.repeat(500);

  it('writes multi-document YAML that reads back to the same values', () => {
    const values = [{ a: 1 }, { b: [1, 2] }];
    const text = stringifyDocuments(values, 'yaml');
    expect(text).toContain('---\n');
    expect(parseDocuments(text, 'out').map((d) => d.value)).toEqual(values);
  });

  it('never folds a long value over several lines', () => {
    const text = stringifyDocuments([{ spec: { encryptedData: { k: `sb1:0123456789abcdef:${long}` } } }], 'yaml');
    expect(text.split('\n').filter((l) => l.includes('x'))).toEqual([`    k: sb1:0123456789abcdef:${long}`]);
  });

  it('writes one JSON object for one document', () => {
    expect(JSON.parse(stringifyDocuments([{ a: 1 }], 'json'))).toEqual({ a: 1 });
  });

  it('writes a v1 List for several JSON documents', () => {
    expect(JSON.parse(stringifyDocuments([{ a: 1 }, { b: 2 }], 'json'))).toEqual({ apiVersion: 'v1', kind: 'List', items: [{ a: 1 }, { b: 2 }] });
  });
});

describe('parseDocuments refuses YAML that kubectl may read differently', () => {
  it.each<[string, string, string]>([
    ['a %YAML 1.1 directive with a merge key', '%YAML 1.1\n---\nbase: &b {scope: cluster}\nspec:\n  <<: *b\n', 'a %YAML directive at line 1'],
    ['a %YAML 1.2 directive', 'a: 1\n...\n%YAML 1.2\n---\nb: 2\n', 'in.yaml document 2: a %YAML directive at line 3'],
    ['a %TAG directive', '%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n', 'a %TAG or unknown directive'],
    ['a %TAG directive that redefines !!', '%TAG !! tag:example.com,2000:\n---\na: !!str 1\n', 'a %TAG or unknown directive'],
    ['an unknown directive', '%FOO bar\n---\na: 1\n', 'a %TAG or unknown directive'],
    ['a merge key without a directive (kubectl honours it)', 'base: &b {x: 1}\nm:\n  <<: *b\n', 'a merge key (<<) at line 3, column 3'],
    ['a quoted merge key', 'm:\n  "<<": {x: 1}\n', 'a merge key (<<)'],
    ['a merge key in JSON', '{"m": {"<<": {"x": 1}}}', 'a merge key (<<)'],
    ['!!binary', 'a: !!binary aGVsbG8=\n', 'the tag "tag:yaml.org,2002:binary"'],
    ['!!set', 'a: !!set {x}\n', 'the tag "tag:yaml.org,2002:set"'],
    ['!!timestamp', 'a: !!timestamp 2001-01-01\n', 'the tag "tag:yaml.org,2002:timestamp"'],
    ['a local tag', 'a: !secret x\n', 'the tag "!secret"'],
    ['the non-specific tag', 'a: ! 12\n', 'the tag "!"'],
  ])('refuses %s with INPUT', (_what, text, message) => {
    expectSealboxError(parsing(text), 'INPUT', message);
  });

  it('accepts the core schema tags, written short or verbatim', () => {
    const docs = parseDocuments('a: !!str 12\nb: !!int "3"\nc: !<tag:yaml.org,2002:str> x\nd: !!map {e: !!seq [!!null null, !!bool true, !!float 1.5]}\n', 'in.yaml');
    expect(docs[0]?.value).toEqual({ a: '12', b: 3, c: 'x', d: { e: [null, true, 1.5] } });
  });
});
