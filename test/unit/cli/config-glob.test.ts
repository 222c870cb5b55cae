import { describe, expect, it } from 'vitest';
import { matchesGlob } from '../../../cli/config-glob.js';
import { isSealboxError } from '../../../src/errors.js';

describe('matchesGlob', () => {
  it.each([
    ['apps/prod/db.yaml', 'apps/prod/db.yaml', true],
    ['apps/prod/db.yaml', 'apps/*/db.yaml', true],
    ['apps/prod/eu/db.yaml', 'apps/*/db.yaml', false],
    ['apps/prod/eu/db.yaml', 'apps/**/db.yaml', true],
    ['apps/db.yaml', 'apps/**/db.yaml', true],
    ['apps/prod/db.yaml', 'apps/prod/**', true],
    ['apps/production/db.yaml', 'apps/prod/**', false],
    ['db.yaml', '**/*.yaml', true],
    ['a/b/c/db.yml', '**/*.yaml', false],
    ['a/b/c/db.yml', '**/*.{yaml,yml}', true],
    ['x/db.yaml', '*.yaml', false],
    ['db1.yaml', 'db?.yaml', true],
    ['db/.yaml', 'db?.yaml', false],
    ['dbx.yaml', 'db[0-9].yaml', false],
    ['db7.yaml', 'db[0-9].yaml', true],
    ['dbx.yaml', 'db[!0-9].yaml', true],
    ['a+b.yaml', 'a+b.yaml', true],
    ['aab.yaml', 'a+b.yaml', false],
    ['prod/(x).yaml', 'prod/(x).yaml', true],
  ])('matches %s against %s: %s', (path, pattern, expected) => {
    expect(matchesGlob(path, pattern)).toBe(expected);
  });

  it('refuses an unclosed class or alternative as INPUT', () => {
    for (const p of ['db[0-9.yaml', 'db{a,b.yaml']) {
      let err: unknown;
      try {
        matchesGlob('x', p);
      } catch (e) {
        err = e;
      }
      expect(isSealboxError(err, 'INPUT')).toBe(true);
    }
  });
});
