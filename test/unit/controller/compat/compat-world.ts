// A compat reconciler over an in-memory API (MemorySecrets with the bitnami
// status patch), trying test keys a then b, its RSA operations counted: what
// the compat mode's budget and cache tests share.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { UnsealBudget } from '../../../../src/controller/compat/budget.js';
import { WorkingKeys } from '../../../../src/controller/compat/opener.js';
import { CompatReconciler } from '../../../../src/controller/compat/reconciler.js';
import type { EventSink } from '../../../../src/controller/events.js';
import { EventRecorder } from '../../../../src/controller/events.js';
import { Metrics } from '../../../../src/controller/metrics.js';
import type { DataKeyCache } from '../../../../src/crypto/key-cache.js';
import { vectorIdentity } from '../../../helpers/keys.js';
import { MemorySecrets } from '../memory-secrets.js';

/** MemorySecrets with the bitnami status patch, kept like sealbox's own. */
export class CompatSecrets extends MemorySecrets {
  patchBitnamiStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    return this.patchSealedStatus(namespace, name, status);
  }
}

/** The reconciler, its API, and the RSA private operations keys a and b have made so far. */
export function compatWorld(o: { cache: DataKeyCache; budget: UnsealBudget; sink?: EventSink }): { api: CompatSecrets; reconciler: CompatReconciler; ops: () => number } {
  const api = new CompatSecrets();
  const sink = o.sink ?? { createEvent: () => Promise.resolve() };
  const log = pino({ level: 'info' }, new Writable({ write(_c, _e, done) { done(); } }));
  const a = vectorIdentity('a');
  const b = vectorIdentity('b');
  const keys = [{ fingerprint: a.fingerprint, identity: a }, { fingerprint: b.fingerprint, identity: b }];
  const reconciler = new CompatReconciler({
    api, log, metrics: new Metrics(), events: new EventRecorder(sink, log, 'test'), keys: () => keys,
    cache: o.cache, working: new WorkingKeys(), getSealed: (ns, name) => api.getSealed(ns, name), budget: o.budget,
  });
  return { api, reconciler, ops: () => a.privateOps + b.privateOps };
}
