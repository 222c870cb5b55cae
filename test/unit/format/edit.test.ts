import { beforeAll, describe, expect, it } from 'vitest';
import { applySealedChanges } from '../../../src/format/edit.js';
import { mergeIntoSealed, sealSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import { parseSealedSecret, sealedManifest } from '../../../src/format/sealed.js';
import { parseDocuments, stringifyDocument, stringifyDocuments } from '../../../src/format/yaml.js';
import { lineDiff } from '../../helpers/diff.js';
import { LocalKey } from '../../helpers/local-key.js';

const key = new LocalKey('edit');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
let before: SealedSecret;
let text: string;

beforeAll(async () => {
  const data = new Map(['a', 'b', 'c', 'd'].map((k) => [k, bytes(`value of ${k}`)]));
  before = await sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data }, { scope: 'strict', wrappers: [key] });
  text = `# sealed by sealbox; do not edit\n${stringifyDocuments([sealedManifest(before)], 'yaml')}`;
});

/** Applies `after` to the parsed `text` and returns the new text. */
function edit(source: string, from: SealedSecret, after: SealedSecret): string {
  const [doc] = parseDocuments(source, 'in.yaml');
  if (doc === undefined) throw new Error('no document');
  applySealedChanges(doc.doc, from, after);
  return stringifyDocument(doc.doc);
}

const valueLine = (s: SealedSecret, k: string): string => {
  const v = sealedManifest(s).spec as { encryptedData: Record<string, string> };
  return `    ${k}: ${v.encryptedData[k] ?? ''}`;
};

describe('applySealedChanges', () => {
  it('writes nothing when nothing changed', () => {
    expect(edit(text, before, before)).toBe(text);
  });

  it('changes only the line of a replaced value and appends the new group', async () => {
    const after = await mergeIntoSealed(before, new Map([['b', bytes('new b')]]), { wrappers: [key] });
    const out = edit(text, before, after);
    const { removed, added } = lineDiff(text, out);
    expect(removed).toEqual([valueLine(before, 'b')]);
    expect(added[0]).toBe(valueLine(after, 'b'));
    expect(added.slice(1).every((l) => l.startsWith('    - ') || l.startsWith('      ') || l.startsWith('        '))).toBe(true);
    expect(parseSealedSecret(parseDocuments(out, 'out')[0]?.value, 'out')).toEqual(after);
  });

  it('adds a new value as one new line', async () => {
    const after = await mergeIntoSealed(before, new Map([['e', bytes('e')]]), { wrappers: [key] });
    const { removed, added } = lineDiff(text, edit(text, before, after));
    expect(removed).toEqual([]);
    expect(added).toContain(valueLine(after, 'e'));
  });

  it('removes a group left without values, and its lines only', async () => {
    const after = await mergeIntoSealed(before, new Map(['a', 'b', 'c', 'd'].map((k) => [k, bytes('x')])), { wrappers: [key] });
    const out = edit(text, before, after);
    expect(out).not.toContain(before.dataKeys[0]?.id ?? 'none');
    expect(out.startsWith('# sealed by sealbox; do not edit\n')).toBe(true);
    expect(parseSealedSecret(parseDocuments(out, 'out')[0]?.value, 'out')).toEqual(after);
  });

  it('rewrites only the recipients of a re-wrapped group', () => {
    const [group] = before.dataKeys;
    if (group === undefined) throw new Error('no group');
    const rewrapped = { ...group, recipients: [{ type: 'aws-kms' as const, id: 'arn:aws:kms:eu-west-1:0:key/new', wrapped: bytes('rewrapped') }] };
    const after: SealedSecret = { ...before, dataKeys: [rewrapped] };
    const { removed, added } = lineDiff(text, edit(text, before, after));
    expect(removed.every((l) => /^\s+(- type|id|wrapped):/.test(l))).toBe(true);
    expect(added.every((l) => /^\s+(- type|id|wrapped):/.test(l))).toBe(true);
    expect(removed.length).toBeGreaterThan(0);
  });

  it('deletes a value that is gone', () => {
    const encryptedData = new Map(before.encryptedData);
    encryptedData.delete('c');
    const { removed, added } = lineDiff(text, edit(text, before, { ...before, encryptedData }));
    expect(removed).toEqual([valueLine(before, 'c')]);
    expect(added).toEqual([]);
  });

  it('creates encryptedData and dataKeys in a resource that has none', async () => {
    const empty = parseSealedSecret(
      { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', metadata: { name: 'db', namespace: 'prod' }, spec: { scope: 'strict' } },
      'w',
    );
    const after = await mergeIntoSealed(empty, new Map([['a', bytes('1')]]), { wrappers: [key] });
    const source = 'apiVersion: sealbox.dev/v1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  scope: strict\n';
    const out = edit(source, empty, after);
    expect(out.startsWith(source)).toBe(true);
    expect(parseSealedSecret(parseDocuments(out, 'out')[0]?.value, 'out')).toEqual(after);
  });

  it('keeps comment lines and quoting in the lines it does not touch', async () => {
    const annotated = text.replace('spec:\n', '# the sealed part\nspec:\n').replace('kind: SealedSecret', "kind: 'SealedSecret'");
    const after = await mergeIntoSealed(before, new Map([['a', bytes('x')]]), { wrappers: [key] });
    const out = edit(annotated, before, after);
    expect(out).toContain('# the sealed part\nspec:\n');
    expect(out).toContain("kind: 'SealedSecret'\n");
    expect(lineDiff(annotated, out).removed).toEqual([valueLine(before, 'a')]);
  });
});
