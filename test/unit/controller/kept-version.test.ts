// KeptVersion (issue 17 §1): the caches keep a resourceVersion as a number
// when it is a small decimal, and must give every resourceVersion back as
// exactly the text the API server sent (it is opaque: a relist compares it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepVersion, versionText } from '../../../src/controller/digest.js';
import { summarizeSealed } from '../../../src/controller/sealed-cache.js';
import { summarizeSecret } from '../../../src/controller/secret-cache.js';
import { InformerCache } from '../../../src/kube/informer-cache.js';

describe('keepVersion', () => {
  it('gives back exactly the text it was given, whatever the text', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{1,12}$/), fc.nat().map(String)), (v) => {
      expect(versionText(keepVersion(v))).toBe(v);
    }), { numRuns: 2000 });
  });

  it('keeps a decimal below 10^9 without a leading zero as a number, anything else as the string', () => {
    expect(['1', '42', '999999999'].map(keepVersion)).toEqual([1, 42, 999_999_999]);
    for (const v of ['', '0', '007', '1000000000', '12345678901234567890', '1e3', ' 1', '1.0', '-1', '0x10', 'abc']) expect(keepVersion(v)).toBe(v);
  });

  it('is what both summaries give back as their resourceVersion', () => {
    for (const rv of ['7', '0012', '98765432109876']) {
      expect(summarizeSealed({ metadata: { name: 'a', namespace: 'n', resourceVersion: rv } }).metadata.resourceVersion).toBe(rv);
      expect(summarizeSecret({ metadata: { name: 'a', namespace: 'n', resourceVersion: rv } }).metadata.resourceVersion).toBe(rv);
    }
  });
});

describe('a new summary\'s name', () => {
  it('comes from the other cache when that has one, and is asked for by namespace and name', () => {
    const asked: string[] = [];
    const shared = (ns: string, name: string): string => { asked.push(`${ns}/${name}`); return name; };
    expect(summarizeSecret({ metadata: { name: 'db', namespace: 'prod' } }, undefined, shared).metadata.name).toBe('db');
    expect(summarizeSealed({ metadata: { name: 'db', namespace: 'prod' } }, undefined, shared).metadata.name).toBe('db');
    expect(asked).toEqual(['prod/db', 'prod/db']);
  });

  it('is its own when the other cache answers nothing or another name', () => {
    for (const answer of [undefined, 'other']) {
      expect(summarizeSecret({ metadata: { name: 'db', namespace: 'prod' } }, undefined, () => answer).metadata.name).toBe('db');
      expect(summarizeSealed({ metadata: { name: 'db', namespace: 'prod' } }, undefined, () => answer).metadata.name).toBe('db');
    }
  });
});

describe('an informer cache of summaries', () => {
  it('takes an object relisted at the same resourceVersion for no update, and one at another for an update', () => {
    const cache = new InformerCache((obj: { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }, old: ReturnType<typeof summarizeSecret> | undefined) => summarizeSecret(obj, old));
    const told: string[] = [];
    cache.on('add', () => told.push('add'));
    cache.on('update', () => told.push('update'));
    for (const rv of ['41', '41', '0041', '0041', '42']) cache.put({ metadata: { name: 'db', namespace: 'prod', resourceVersion: rv } });
    expect(told).toEqual(['add', 'update', 'update']);
  });
});
