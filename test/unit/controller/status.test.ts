import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../src/errors.js';
import { SealboxError } from '../../../src/errors.js';
import { ReconcileError } from '../../../src/controller/reconciler.js';
import type { Status, StatusResult } from '../../../src/controller/status.js';
import { isTransientFailure, nextStatus, statusView } from '../../../src/controller/status.js';
import { summarizeSealed } from '../../../src/controller/sealed-cache.js';
import { KubeError } from '../../../src/kube/errors.js';

/** nextStatus for sealed resource "db" at `generation`, whose status on the server is `current` (as the cache views it). */
const next = (generation: number, current: unknown, result: StatusResult, keyIds: readonly string[], now: Date): Status | undefined =>
  nextStatus('db', generation, statusView(current), result, keyIds, now);
const T0 = new Date('2026-01-01T00:00:00.123Z');
const T1 = new Date('2026-01-01T00:05:00Z');

const synced: StatusResult = { ok: true, reason: 'Unsealed', message: 'the secret matches the sealed resource' };
const tampered: StatusResult = { ok: false, reason: 'Tampered', message: 'value "a" was changed' };
const kmsDown: StatusResult = { ok: false, transient: true, reason: 'ProviderUnavailable', message: 'aws kms could not be reached' };

/** The conditions of a status as [type, status, reason] rows. */
const rows = (s: Status | undefined): string[][] => (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason]);

describe('nextStatus', () => {
  it.each<[string, StatusResult, string[][]]>([
    ['a synced resource is Ready and nothing else', synced, [['Ready', 'True', 'Unsealed']]],
    ['a permanent failure is Ready=False and Stalled=True with the same reason', tampered, [['Ready', 'False', 'Tampered'], ['Stalled', 'True', 'Tampered']]],
    ['a transient failure is Ready=False and Reconciling=True', kmsDown, [['Ready', 'False', 'ProviderUnavailable'], ['Reconciling', 'True', 'ProviderUnavailable']]],
  ])('%s', (_name, result, want) => {
    const s = next(3, {}, result, [], T0);
    expect(rows(s)).toEqual(want);
    expect(s?.observedGeneration).toBe(3);
    for (const c of s?.conditions ?? []) expect(c).toMatchObject({ message: result.message, observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' });
  });

  it('sets observedGeneration to 0 for an object without a generation, never leaves it out', () => {
    const s = next(summarizeSealed({ metadata: { name: 'db' } }).metadata.generation, {}, synced, [], T0);
    expect(s?.observedGeneration).toBe(0);
  });

  it('writes nothing when the status says the same already, for each kind of outcome', () => {
    for (const r of [synced, tampered, kmsDown]) {
      const first = next(2, {}, r, ['k1'], T0);
      expect(first).toBeDefined();
      expect(next(2, first ?? {}, r, ['k1'], T1)).toBeUndefined();
    }
  });

  it('writes again when the generation moves on, even with the same outcome', () => {
    const first = next(2, {}, tampered, [], T0);
    expect(next(3, first ?? {}, tampered, [], T1)?.observedGeneration).toBe(3);
  });

  it('adds Stalled to a status an older controller wrote with Ready=False alone', () => {
    const old = { observedGeneration: 2, keyIds: [], conditions: [{ type: 'Ready', status: 'False', reason: 'Tampered', message: tampered.message, lastTransitionTime: 'then', observedGeneration: 2 }] };
    const s = next(2, old, tampered, [], T1);
    expect(rows(s)).toEqual([['Ready', 'False', 'Tampered'], ['Stalled', 'True', 'Tampered']]);
    expect(s?.conditions.map((c) => c.lastTransitionTime)).toEqual(['then', '2026-01-01T00:05:00Z']);
  });

  it('turns Reconciling into Stalled when a retried failure becomes permanent, and drops both once synced', () => {
    const retrying = next(1, {}, kmsDown, [], T0);
    const stalled = next(1, retrying ?? {}, tampered, [], T1);
    expect(rows(stalled)).toEqual([['Ready', 'False', 'Tampered'], ['Stalled', 'True', 'Tampered']]);
    expect(stalled?.conditions[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z'); // Ready stayed False
    const ok = next(1, stalled ?? {}, synced, [], T1);
    expect(rows(ok)).toEqual([['Ready', 'True', 'Unsealed']]);
  });
});

describe('isTransientFailure', () => {
  const err = (code: ErrorCode): SealboxError => new SealboxError(code, 'failed');
  it.each<[string, unknown, string, boolean]>([
    ['a tampered value', err('TAMPERED'), 'Tampered', false],
    ['a value bound to another scope', err('SCOPE'), 'ScopeMismatch', false],
    ['an invalid sealed resource or template', err('INPUT'), 'InvalidSealedSecret', false],
    ['no key of this controller among the recipients', err('NO_KEY'), 'NoKey', false],
    ['a controller that holds no private key yet', new SealboxError('NO_KEY', 'failed', { hint: { kind: 'private-key-missing' } }), 'NoKey', true],
    ['an unowned Secret in the way', new ReconcileError('REFUSED', 'SecretNotOwned', 'failed'), 'SecretNotOwned', false],
    ['a write fight sealbox holds off from and retries', new ReconcileError('REFUSED', 'Conflict', 'failed'), 'Conflict', true],
    ['a KMS or Key Vault that cannot be reached', err('PROVIDER'), 'ProviderUnavailable', true],
    ['an API server that cannot be reached', new KubeError(0, 'failed'), 'ApiError', true],
    ['an API server answering 503', new KubeError(503, 'failed'), 'ApiError', true],
    ['an API server answering 429', new KubeError(429, 'failed'), 'ApiError', true],
    ['a Secret the API server refuses as invalid (422)', new KubeError(422, 'failed'), 'ApiError', false],
    ['a write RBAC forbids (403)', new KubeError(403, 'failed'), 'ApiError', false],
    ['an unexpected error', new Error('bug'), 'InternalError', true],
  ])('classifies %s', (_name, e, reason, transient) => {
    expect(isTransientFailure(e, reason)).toBe(transient);
  });
});
