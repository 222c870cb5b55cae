import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_JSON_TOKENS, checkJsonText, parseRewrapBody } from '../../../src/controller/rewrap.js';
import { expectSealboxError } from '../../helpers/errors.js';


describe('checkJsonText', () => {
  it('accepts a sealed resource and ignores brackets inside strings', () => {
    checkJsonText(JSON.stringify({ a: { b: [1, '[[[[{{{{', '\\"[[[['] } }));
    checkJsonText(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`);
  });

  it('refuses nesting past the limit before parsing', () => {
    expectSealboxError(() => { checkJsonText('['.repeat(1_000_000)); }, 'INPUT', `deeper than ${String(MAX_JSON_DEPTH)}`);
  });

  it('refuses more tokens than the limit before parsing', () => {
    expectSealboxError(() => { checkJsonText(`[${'0,'.repeat(MAX_JSON_TOKENS)}0]`); }, 'INPUT', 'JSON tokens');
  });
});

describe('parseRewrapBody', () => {
  it.each(['kind: ConfigMap\n', 'apiVersion: sealbox.dev/v1\nkind: SealedSecret\n', '{"kind":"ConfigMap"}', '{', '[]'])('answers undefined (400) for %j', (body) => {
    expect(parseRewrapBody(body)).toBeUndefined();
  });

  it('refuses a resource with more groups than one request may unwrap', () => {
    const group = (i: number): object => ({ group: i.toString(16).padStart(16, '0'), commitment: 'c'.repeat(64), binding: 'strict/ns/db', recipients: [{ type: 'cert', id: 'a'.repeat(64), wrapped: 'AA==' }] });
    const doc = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', metadata: { name: 'db', namespace: 'ns' }, spec: { scope: 'strict', encryptedData: {}, dataKeys: Array.from({ length: 65 }, (_, i) => group(i)) } };
    expectSealboxError(() => parseRewrapBody(JSON.stringify(doc)), 'INPUT', '65 data-key groups');
  });

  it('refuses a group that no value names: it would not be unwrapped, so a forged one would pass', () => {
    const group = { group: '0'.repeat(16), commitment: 'c'.repeat(64), binding: 'strict/ns/db', recipients: [{ type: 'cert', id: 'a'.repeat(64), wrapped: 'AA==' }] };
    const doc = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', metadata: { name: 'db', namespace: 'ns' }, spec: { scope: 'strict', encryptedData: {}, dataKeys: [group] } };
    expectSealboxError(() => parseRewrapBody(JSON.stringify(doc)), 'INPUT', `data-key group ${'0'.repeat(16)} holds no value`);
  });
});
