import { describe, expect, it } from 'vitest';
import {
  FORMAT_LABEL,
  bindingText,
  isSecretFieldName,
  isNamespaceName,
  isObjectName,
  isScope,
  valueAad,
  wrapContext,
  wrapLabel,
} from '../../../src/crypto/binding.js';
import type { Binding } from '../../../src/crypto/types.js';
import { expectSealboxError } from '../../helpers/errors.js';

describe('isNamespaceName', () => {
  it.each([
    ['prod', true],
    ['a', true],
    ['kube-system', true],
    ['0abc9', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['Prod', false],
    ['-prod', false],
    ['prod-', false],
    ['my.ns', false],
    ['a/b', false],
    ['prod ', false],
  ])('says %j is %s', (s, want) => {
    expect(isNamespaceName(s)).toBe(want);
  });
});

describe('isObjectName', () => {
  it.each([
    ['db', true],
    ['db.example.com', true],
    ['a-b.c-d', true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
    ['a'.repeat(254), false],
    ['', false],
    ['DB', false],
    ['db..x', false],
    ['.db', false],
    ['db.', false],
    ['db_1', false],
    ['a/b', false],
  ])('says %j is %s', (s, want) => {
    expect(isObjectName(s)).toBe(want);
  });
});

describe('isSecretFieldName', () => {
  it.each([
    ['password', true],
    ['tls.crt', true],
    ['.dockerconfigjson', true],
    ['A_B-c.9', true],
    ['...', true],
    ['a'.repeat(253), true],
    ['a'.repeat(254), false],
    ['.', false],
    ['..', false],
    ['', false],
    ['a b', false],
    ['a/b', false],
    ['a:b', false],
    ['ключ', false],
    ['a\nb', false],
  ])('says %j is %s', (s, want) => {
    expect(isSecretFieldName(s)).toBe(want);
  });
});

describe('isScope', () => {
  it.each([
    ['strict', true],
    ['namespace', true],
    ['cluster', true],
    ['Strict', false],
    ['', false],
    [undefined, false],
    [1, false],
  ])('says %j is %s', (s, want) => {
    expect(isScope(s)).toBe(want);
  });
});

describe('bindingText', () => {
  it.each<[Binding, string]>([
    [{ scope: 'strict', namespace: 'prod', name: 'db' }, 'strict/prod/db'],
    [{ scope: 'namespace', namespace: 'prod', name: 'db' }, 'namespace/prod'],
    [{ scope: 'namespace', namespace: 'prod', name: '' }, 'namespace/prod'],
    [{ scope: 'cluster', namespace: 'prod', name: 'db' }, 'cluster'],
    [{ scope: 'cluster', namespace: '', name: '' }, 'cluster'],
  ])('writes %j as %s', (b, want) => {
    expect(bindingText(b)).toBe(want);
  });

  it.each<[string, Binding, string]>([
    ['a strict binding without a namespace', { scope: 'strict', namespace: '', name: 'db' }, 'no namespace'],
    ['a namespace binding without a namespace', { scope: 'namespace', namespace: '', name: 'db' }, 'namespace scope binds the namespace'],
    ['an invalid namespace', { scope: 'namespace', namespace: 'Prod', name: 'db' }, 'invalid namespace "Prod"'],
    ['a strict binding without a name', { scope: 'strict', namespace: 'prod', name: '' }, 'invalid secret name'],
    ['a strict binding with a slash in the name', { scope: 'strict', namespace: 'prod', name: 'a/b' }, 'invalid secret name'],
  ])('refuses %s', (_what, b, message) => {
    expectSealboxError(() => bindingText(b), 'INPUT', message);
  });
});

describe('authenticated data', () => {
  const strict: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };

  it('binds a value to the format, its binding, its group and its key name', () => {
    expect(Buffer.from(valueAad(strict, '0123456789abcdef', 'password')).toString('utf8')).toBe(
      `${FORMAT_LABEL}\0value\0strict/prod/db\u00000123456789abcdef\0password`,
    );
  });

  it('labels a wrap with the format and the binding', () => {
    expect(Buffer.from(wrapLabel(strict)).toString('utf8')).toBe('sealbox.dev/v1\0wrap\0strict/prod/db');
  });

  it('gives a KMS encryption context naming the format and the binding', () => {
    expect(wrapContext({ scope: 'namespace', namespace: 'prod', name: 'x' })).toEqual({
      'sealbox.dev/format': 'v1',
      'sealbox.dev/binding': 'namespace/prod',
    });
  });

  it.each<[string, Binding]>([
    ['another namespace', { ...strict, namespace: 'staging' }],
    ['another name', { ...strict, name: 'db2' }],
    ['another scope', { ...strict, scope: 'namespace' }],
  ])('differs for %s', (_what, moved) => {
    expect(valueAad(moved, '0123456789abcdef', 'password')).not.toEqual(valueAad(strict, '0123456789abcdef', 'password'));
    expect(wrapLabel(moved)).not.toEqual(wrapLabel(strict));
  });
});
