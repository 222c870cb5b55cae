import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { rotateSealed } from '../../../src/format/rotate.js';
import { mergeIntoSealed, sealSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import { parseSealedSecret, sealedManifest } from '../../../src/format/sealed.js';
import { applyTextEdits, spliceSealedChanges } from '../../../src/format/splice.js';
import { parseDocuments, stringifyDocuments } from '../../../src/format/yaml.js';
import { lineDiff } from '../../helpers/diff.js';
import { LocalKey } from '../../helpers/local-key.js';

const a = new LocalKey('splice-a');
const b = new LocalKey('splice-b');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
let before: SealedSecret;
let text: string;

beforeAll(async () => {
  const data = new Map(['x', 'y', 'z'].map((k) => [k, bytes(`value of ${k}`)]));
  before = await sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data }, { scope: 'strict', wrappers: [a] });
  text = `# sealed by sealbox; do not edit\n${stringifyDocuments([sealedManifest(before)], 'yaml')}`;
});

/** Splices `from` -> `to` into `source`; undefined when the splicer declines. */
function splice(source: string, from: SealedSecret, to: SealedSecret): string | undefined {
  const [doc] = parseDocuments(source, 'in.yaml');
  if (doc === undefined) throw new Error('no document');
  const edits = spliceSealedChanges(source, doc.doc, from, to);
  return edits === undefined ? undefined : applyTextEdits(source, edits);
}

const reparsed = (out: string | undefined): SealedSecret => parseSealedSecret(parseDocuments(out ?? '', 'out')[0]?.value, 'out');
const valueOf = (s: SealedSecret, k: string): string => (sealedManifest(s).spec as { encryptedData: Record<string, string> }).encryptedData[k] ?? '';

describe('applyTextEdits', () => {
  it('applies non-overlapping edits given in any order', () => {
    expect(applyTextEdits('0123456789', [{ start: 1, end: 2, text: 'a' }, { start: 8, end: 8, text: 'bc' }, { start: 4, end: 6, text: '' }])).toBe('0a2367bc89');
  });
});

describe('spliceSealedChanges', () => {
  it('makes no edit when nothing changed', () => {
    expect(splice(text, before, before)).toBe(text);
  });

  it('replaces a changed value on its own line and appends its new group, leaving every other line as it was', async () => {
    const after = await mergeIntoSealed(before, new Map([['y', bytes('new y')]]), { wrappers: [a] });

    const out = splice(text, before, after);

    const { removed, added } = lineDiff(text, out ?? '');
    expect(removed).toEqual([`    y: ${valueOf(before, 'y')}`]);
    expect(added[0]).toBe(`    y: ${valueOf(after, 'y')}`);
    expect(added.slice(1).every((l) => /^ {4}- | {6}| {8}/.test(l))).toBe(true);
    expect(reparsed(out)).toEqual(after);
  });

  it('adds a new value as one line at the indentation of the others', async () => {
    const after = await mergeIntoSealed(before, new Map([['w', bytes('w')]]), { wrappers: [a] });

    const { removed, added } = lineDiff(text, splice(text, before, after) ?? '');

    expect(removed).toEqual([]);
    expect(added).toContain(`    w: ${valueOf(after, 'w')}`);
  });

  it('removes a value by its line and a group left without values by its lines', async () => {
    const dropped: SealedSecret = { ...before, encryptedData: new Map([...before.encryptedData].filter(([k]) => k !== 'z')) };
    const replaced = await mergeIntoSealed(before, new Map(['x', 'y', 'z'].map((k) => [k, bytes('again')])), { wrappers: [a] });

    const out = splice(text, before, dropped);
    const all = splice(text, before, replaced);

    expect(lineDiff(text, out ?? '')).toEqual({ removed: [`    z: ${valueOf(before, 'z')}`], added: [] });
    expect(all).not.toContain(before.dataKeys[0]?.id ?? 'none');
    expect(all?.startsWith('# sealed by sealbox; do not edit\n')).toBe(true);
    expect(reparsed(all)).toEqual(replaced);
  });

  it('rewrites only the recipients of a group that gains one, in the file\'s own list style', async () => {
    const flat = stringify(sealedManifest(before), { indentSeq: false });
    const { sealed: after } = await rotateSealed(before, [a], { targets: [{ ref: a.recipient, wrapper: a }, { ref: b.recipient, wrapper: b }] }, 'r');

    const out = splice(flat, before, after);

    const { removed, added } = lineDiff(flat, out ?? '');
    expect(removed).toEqual([]);
    expect(added).toEqual([`    - type: aws-kms`, `      id: ${b.recipient.id}`, expect.stringMatching(/^ {6}wrapped: \S+$/)]);
    expect(reparsed(out)).toEqual(after);
  });

  it('keeps Windows line endings, and starts a new line when the file ends without one', async () => {
    const after = await mergeIntoSealed(before, new Map([['w', bytes('w')]]), { wrappers: [a] });
    const crlf = text.replace(/\n/g, '\r\n').replace(/\r\n$/, '');

    const out = splice(crlf, before, after) ?? '';

    expect(out.replace(/\r\n/g, '')).not.toContain('\n');
    expect(reparsed(out)).toEqual(after);
  });

  it.each([
    ['flow-style values', (t: string): string => t.replace(/encryptedData:\n((?: {4}.*\n)+)/, (_, body: string) => `encryptedData: { ${body.trim().split('\n').map((l) => l.trim()).join(', ')} }\n`)],
  ])('declines %s, so the caller re-renders the document', async (_, reshape) => {
    const after = await mergeIntoSealed(before, new Map([['w', bytes('w')]]), { wrappers: [a] });
    const source = reshape(text);
    expect(source).not.toBe(text);

    expect(splice(source, before, after)).toBeUndefined();
  });

  it('declines a group whose binding or commitment changed', () => {
    const [g] = before.dataKeys;
    if (g === undefined) throw new Error('no group');
    const moved: SealedSecret = { ...before, dataKeys: [{ ...g, binding: 'namespace/prod' }] };

    expect(splice(text, before, moved)).toBeUndefined();
  });
});
