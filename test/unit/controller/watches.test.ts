// What the sealed-resource watch hands the cold start (issue 17 §1): the
// objects of the initial list are held until their reconcile, so they are
// held without what reconcile never reads: managedFields, and kubectl's
// last-applied annotation (a second copy of the whole object, ciphertext
// included).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ColdStart } from '../../../src/controller/cold-start.js';
import { WorkQueue } from '../../../src/controller/queue.js';
import { sealedWatch } from '../../../src/controller/watches.js';
import type { KubeApi } from '../../../src/kube/api.js';
import type { SealedSecretObject } from '../../../src/kube/types.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A KubeApi whose sealed informer only records the hooks it is given (nothing is listed or watched). */
function recordingApi(): { api: KubeApi; onListed: ((obj: SealedSecretObject) => unknown)[] } {
  const onListed: ((obj: SealedSecretObject) => unknown)[] = [];
  const informer = { on: () => undefined, start: () => Promise.resolve(), stop: () => Promise.resolve(), get: () => undefined, list: () => [] };
  const api = {
    sealedInformer: (_ns: unknown, _keep: unknown, hooks: { onListed: (obj: SealedSecretObject) => unknown }) => {
      onListed.push(hooks.onListed);
      return informer;
    },
  } as unknown as KubeApi;
  return { api, onListed };
}

describe('sealedWatch', () => {
  it('holds a listed object for its reconcile without managedFields and without kubectl\'s last-applied copy', async () => {
    const { api, onListed } = recordingApi();
    const queue = new WorkQueue(() => Promise.resolve(), { workers: 1, baseDelayMs: 10, maxDelayMs: 10 });
    const coldStart = new ColdStart(10, () => undefined);
    sealedWatch({ api, scopes: [undefined], log: pino({ level: 'silent' }), queue }, coldStart, () => true);
    const spec = { encryptedData: { password: 'A'.repeat(200) } };
    const obj: SealedSecretObject = {
      metadata: {
        name: 'db', namespace: 'prod', resourceVersion: '7',
        annotations: { [LAST_APPLIED]: JSON.stringify({ spec }), 'sealbox.dev/patch': 'true', note: 'kept' },
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
      },
      spec,
    };
    await onListed[0]?.(obj);
    const held = coldStart.take('prod/db');
    expect(held?.metadata?.managedFields).toBeUndefined();
    expect(held?.metadata?.annotations).toEqual({ 'sealbox.dev/patch': 'true', note: 'kept' });
    expect(held?.spec).toEqual(spec);
  });

  it('holds nothing of a namespace this replica does not reconcile', async () => {
    const { api, onListed } = recordingApi();
    const queue = new WorkQueue(() => Promise.resolve(), { workers: 1, baseDelayMs: 10, maxDelayMs: 10 });
    const coldStart = new ColdStart(10, () => undefined);
    sealedWatch({ api, scopes: [undefined], log: pino({ level: 'silent' }), queue }, coldStart, (ns) => ns !== 'prod');
    await onListed[0]?.({ metadata: { name: 'db', namespace: 'prod', managedFields: [{ manager: 'kubectl' }] }, spec: {} });
    expect(coldStart.size).toBe(0);
  });
});
