import { describe, expect, it } from 'vitest';
import { flattenLists, mapListItems, nestedSecretPaths } from '../../../src/format/lists.js';
import { expectSealboxError } from '../../helpers/errors.js';

const secret = (name: string): object => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { password: 'x' } });

describe('flattenLists', () => {
  it.each<[string, object]>([
    ['a v1 List', { apiVersion: 'v1', kind: 'List', items: [secret('a'), secret('b')] }],
    ['a SecretList, as the raw API returns', { apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: '1' }, items: [secret('a'), secret('b')] }],
    ['an object with items and no kind', { items: [secret('a'), secret('b')] }],
    ['a list inside a list', { kind: 'List', items: [secret('a'), { kind: 'ConfigMapList', items: [{ items: [secret('b')] }] }] }],
  ])('flattens %s into its items, at any depth', (_what, list) => {
    expect(flattenLists(list, 'in.yaml document 1')).toEqual([secret('a'), secret('b')]);
  });

  it('passes an object without items through', () => {
    expect(flattenLists(secret('a'), 'x')).toEqual([secret('a')]);
  });

  it.each<[string, object, RegExp]>([
    ['items that are not a list', { kind: 'SecretList', items: { a: secret('a') } }, /"items" must be a list/],
    ['items set to null', { kind: 'List', items: null }, /"items" must be a list/],
    ['a list that is also a Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'eA==' }, items: [] }, /also has "data"/],
    ['a nested list with extra fields', { kind: 'List', items: [{ kind: 'List', spec: {}, items: [] }] }, /items\[0\] has "items".*also has "spec"/],
  ])('refuses %s', (_what, list, message) => {
    expectSealboxError(() => flattenLists(list, 'in.yaml document 1'), 'INPUT', message);
  });

  it('keeps the shape of nested lists when mapping their items', () => {
    const list = { kind: 'List', items: [{ n: 1 }, { kind: 'SecretList', items: [{ n: 2 }] }] };
    expect(mapListItems(list, (v) => ({ ...(v as object), seen: true }))).toEqual({ kind: 'List', items: [{ n: 1, seen: true }, { kind: 'SecretList', items: [{ n: 2, seen: true }] }] });
  });
});

describe('nestedSecretPaths', () => {
  it('finds a Secret with values inside another object', () => {
    const template = { apiVersion: 'template.openshift.io/v1', kind: 'Template', objects: [{ kind: 'ConfigMap' }, secret('a')] };
    expect(nestedSecretPaths(template)).toEqual(['objects[1]']);
  });

  it('finds a Secret written as JSON inside a string, such as a last-applied annotation', () => {
    const applied = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, data: { password: 'eA==' } });
    const v = { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': applied } } };
    expect(nestedSecretPaths(v)).toEqual(['metadata.annotations."kubectl.kubernetes.io/last-applied-configuration" (JSON)']);
  });

  it('ignores references to Secrets and Secrets without values', () => {
    const pod = { kind: 'Pod', metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 's', uid: 'u' }] }, spec: { volumes: [{ secret: { secretName: 's' } }] } };
    expect(nestedSecretPaths(pod)).toEqual([]);
  });

  it('skips the fields it is told to skip', () => {
    expect(nestedSecretPaths({ kind: 'Secret', stringData: { manifest: JSON.stringify(secret('inner')) } }, ['data', 'stringData'])).toEqual([]);
  });
});
