import { describe, expect, it } from 'vitest';
import { MAX_REMOTE_PER_GROUP, unwrapGroup } from '../../../src/crypto/group.js';
import type { DataKeyGroup } from '../../../src/crypto/group.js';
import type { Binding, KeyUnwrapper, WrappedKey } from '../../../src/crypto/types.js';
import { SealboxError } from '../../../src/errors.js';
import { KMS_BUDGET_MESSAGE, withKmsDeadline } from '../../../src/keys/kms-deadline.js';

const binding: Binding = { scope: 'strict', namespace: 'dev', name: 'db' };
const stanza = (i: number): WrappedKey => ({ type: 'azure-kv', id: `https://127.0.0.1:9/keys/k${String(i)}/0123456789abcdef`, wrapped: new Uint8Array(256) });
const group = (n: number): DataKeyGroup => ({ id: '0'.repeat(16), commitment: 'c'.repeat(64), recipients: Array.from({ length: n }, (_, i) => stanza(i)) });

/** A key service on a host that accepts and never answers: every call hangs for `ms`, then times out. */
function hanging(ms: number): { unwrapper: KeyUnwrapper; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    unwrapper: {
      description: 'kms:azure',
      unwrap: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, ms));
        throw new SealboxError('PROVIDER', 'unwrap failed: no answer in time');
      },
    },
  };
}

describe('the KMS time budget', () => {
  it('calls at most a few KMS stanzas of one group, however many it lists', async () => {
    const h = hanging(1);
    await expect(unwrapGroup(group(100), binding, [h.unwrapper], 'sealed secret "dev/db"')).rejects.toMatchObject({ code: 'PROVIDER' });
    expect(h.calls()).toBe(MAX_REMOTE_PER_GROUP);
  });

  it('fails the whole piece of work at its deadline with a fixed message, whatever the calls are doing', async () => {
    const h = hanging(60_000);
    const unwrappers = withKmsDeadline([h.unwrapper], 200);
    const t0 = Date.now();
    const groups = [group(6), group(6), group(6)];
    const results = await Promise.allSettled(groups.map((g) => unwrapGroup(g, binding, unwrappers, 'sealed secret "dev/db"')));
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as SealboxError;
      expect(err.code).toBe('PROVIDER');
      expect(err.message).toContain(KMS_BUDGET_MESSAGE);
      expect(err.message).not.toMatch(/ECONN|socket|refused/);
    }
    // After the deadline no stanza is tried at all.
    const late = h.calls();
    await expect(unwrapGroup(group(6), binding, unwrappers, 'x')).rejects.toMatchObject({ code: 'PROVIDER' });
    expect(h.calls()).toBe(late);
  });
});
