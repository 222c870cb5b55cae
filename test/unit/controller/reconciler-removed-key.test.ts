// Attack review (attack23, noticed beside 9ae5a2b): the controller's data-key
// cache is never cleared (DataKeyCache.clear() says "e.g. when sealing keys
// are removed", but only the per-request caches call it), so a resource
// sealed only for a key that was deleted keeps being unsealed from the cache
// until the controller restarts or evicts it, and then fails with NO_KEY.
import { describe, expect, it } from 'vitest';
import type { KeyUnwrapper } from '../../../src/crypto/types.js';
import { b64, key, ready, sealedObject, unseals, world } from './reconciler-world.js';

describe('a sealing key removed', () => {
  it('no longer unseals what only it can open (an edited Secret is not put back with its data key)', async () => {
    let unwrappers: KeyUnwrapper[] = [key];
    const w = world(await sealedObject({ password: 'hunter2' }), new Set(['fp-old']), { unwrappers: () => unwrappers });
    await w.reconciler.reconcile('prod/db');
    expect(await unseals(w.metrics)).toBe(1);
    // the key Secret is deleted: the controller has no key that opens prod/db
    unwrappers = [];
    w.fingerprints = new Set(['fp-new']);
    const s = w.api.peek('prod', 'db');
    if (s === undefined) throw new Error('no secret');
    s.data = { password: b64('edited') };
    w.api.put(s);
    await w.reconciler.reconcile('prod/db').catch(() => undefined);
    // as after a restart: NO_KEY, and the edited Secret left alone
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('edited') });
    expect(ready(w.api.statuses.at(-1)?.status)).toMatchObject({ status: 'False' });
  });
});
