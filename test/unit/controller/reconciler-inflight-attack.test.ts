// Attack review (attack23) of e08c703: a status write in flight must not
// hide a Secret deleted meanwhile, nor a sealed resource re-created under
// the same name.
import { describe, expect, it } from 'vitest';
import { b64, sealedObject, syncedOneVersionBehind } from './reconciler-world.js';

describe('a status write in flight (attack23)', () => {
  it('does not hide a Secret deleted meanwhile: it is created again', async () => {
    const { w } = await syncedOneVersionBehind();
    w.api.remove('prod', 'db');
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toContain('create prod/db');
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2') });
  });

  it('does not take a sealed resource re-created under the same name (new uid, same version string) for the one it wrote', async () => {
    const { w } = await syncedOneVersionBehind();
    const next = await sealedObject({ password: 'other' });
    w.api.sealed.set('prod/db', { ...next, metadata: { ...next.metadata, uid: 'uid-2', resourceVersion: '7' } });
    w.sealedCache = 'follows';
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db').catch(() => undefined); // the old uid's Secret is refused: the full path ran
    expect(w.api.calls[0]).toBe('getSealed prod/db');
  });
});
