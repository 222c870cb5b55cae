import { describe, expect, it } from 'vitest';
import type { ErrorHint } from '../../../src/errors.js';
import { SealboxError } from '../../../src/errors.js';
import { statusAdvice, statusMessage } from '../../../src/controller/hints.js';
import { sealGroup } from '../../../src/crypto/group.js';
import { sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import { LocalKey } from '../../helpers/local-key.js';
import { expectSealboxError } from '../../helpers/errors.js';

const FLAG = /(^|\s|\()--[a-z]/;
const HINTS: ErrorHint[] = [
  { kind: 'recipients-missing' },
  { kind: 'private-key-missing' },
  { kind: 'namespace-missing' },
  { kind: 'name-missing' },
  { kind: 'name-invalid' },
  { kind: 'reseal-with-scope', scope: 'namespace' },
  { kind: 'reseal-for-name', name: 'db' },
  { kind: 'recipient-certificate-missing', removable: true },
  { kind: 'recipient-certificate-missing', removable: false },
  { kind: 'namespace-conflict' },
  { kind: 'name-for-several' },
  { kind: 'controller-check' },
  { kind: 'merge-target-missing' },
  { kind: 'merge-target-ambiguous' },
  { kind: 'merge-scope', scope: 'strict' },
  { kind: 'compact-by-key-holder' },
  { kind: 'key-bits' },
  { kind: 'validity-days' },
  { kind: 'recipient-to-remove' },
  { kind: 'kms-allow-entry' },
];

const key = new LocalKey('hints');
const sealed = (): Promise<SealedSecret> =>
  sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', new Uint8Array([1, 2])]]) }, { scope: 'strict', wrappers: [key] });

describe('status text of error hints', () => {
  it.each(HINTS.map((h) => [h.kind, h] as const))('words %s without any CLI flag', (_, hint) => {
    const advice = statusAdvice(hint);

    expect(advice).not.toBe('');
    expect(advice).not.toMatch(FLAG);
  });

  it('tells a resource whose scope was changed to seal again with that scope, naming no flag', async () => {
    const s = await sealed();
    const err = await expectSealboxError(unsealSealedSecret({ ...s, scope: 'namespace' }, [key], 'sealed secret "prod/db"'), 'SCOPE', 'sealed secret "prod/db"');

    expect(err.hint).toEqual({ kind: 'reseal-with-scope', scope: 'namespace' });
    expect(err.message).not.toMatch(FLAG);
    expect(statusMessage(err)).toBe(`${err.message}; seal the values again with scope "namespace"`);
    expect(statusMessage(err)).not.toMatch(FLAG);
  });

  it('tells a resource renamed under strict scope what to do, naming no flag', async () => {
    const s = await sealed();
    const err = await expectSealboxError(unsealSealedSecret({ ...s, name: 'other' }, [key], 'sealed secret "prod/other"'), 'SCOPE', 'sealed secret "prod/other"');

    expect(statusMessage(err)).toMatch(/is bound to secret name "db" but the resource is named "other"; seal it again for "other" or with namespace scope$/);
    expect(statusMessage(err)).not.toMatch(FLAG);
  });

  it('says what to do when there is no key to unwrap with, naming no flag', async () => {
    const err = await expectSealboxError(unsealSealedSecret(await sealed(), [], 'sealed secret "prod/db"'), 'NO_KEY', 'sealed secret "prod/db"');

    expect(statusMessage(err)).not.toMatch(FLAG);
    expect(statusMessage(err)).toContain('the controller holds no private key yet');
  });

  it('keeps messages without a hint as they are', async () => {
    const err = await expectSealboxError(sealGroup(new Map([['a', new Uint8Array([1])]]), { scope: 'cluster', namespace: '', name: '' }, [], () => new Uint8Array(32)), 'INPUT', 'no recipients');

    expect(err.hint).toEqual({ kind: 'recipients-missing' });
    expect(statusMessage(new Error('plain'))).toBe('plain');
    expect(statusMessage(new SealboxError('INPUT', 'no hint'))).toBe('no hint');
  });
});
