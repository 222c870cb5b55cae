import { createPublicKey } from 'node:crypto';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerController } from '../../../../cli/commands/controller.js';
import { COMPAT_RSA_PER_NAMESPACE_PER_MINUTE, UnsealBudget } from '../../../../src/controller/compat/budget.js';
import { bitnamiLabel, sealBitnamiValue } from '../../../../src/crypto/bitnami.js';
import { DataKeyCache } from '../../../../src/crypto/key-cache.js';
import type { SealedSecretObject } from '../../../../src/kube/types.js';
import { vectorKey } from '../../../helpers/keys.js';
import { compatWorld } from './compat-world.js';

// attack25 (issue 17 §1, item 3): the compatibility mode has no sync
// records, so each resync unseals every value again and costs no RSA only
// while its session keys are still in the data-key cache
// (docs/SECURITY.md 1a.8). The cache is shared by every namespace, and a
// tenant within its budget (6,000 RSA operations a minute) puts up to 6,000
// new keys in it a minute: 60,000 between two resyncs (10 minutes). At the
// old default of 100,000 keys the other namespaces' keys, used at every
// resync, outlive that; at 10,000 the tenant flushes the cache in 1m40s and
// every other namespace pays every value again at every resync, from its
// own budget (a namespace of more than 6,000 values is then deferred,
// Synced False and an UnsealDeferred warning, at each resync).
// The fix: the mode's own cache, `--compat-data-key-cache-size` (default
// 100,000, COMPAT_DATA_KEY_CACHE_SIZE), apart from sealbox's own
// `--data-key-cache-size`; the test reads the default the CLI starts with.
//
// Scaled down by SCALE so that it runs in a second: cache size, budget and
// values per minute divided by 1,000, the resync period as it is.
const SCALE = 1000;

/** The defaults `sealbox controller` starts with. */
function controllerDefaults(): { cacheSize: number; resyncMs: number } {
  const program = new Command();
  registerController(program);
  const cmd = program.commands.find((c) => c.name() === 'controller');
  const def = (long: string): number => Number(cmd?.options.find((o) => o.long === long)?.defaultValue);
  return { cacheSize: def('--compat-data-key-cache-size'), resyncMs: def('--resync-period') };
}

/** A compat reconciler over an in-memory API, its cache at the default size and its budget scaled down by SCALE; RSA operations counted. */
function world(now: () => number) {
  const { cacheSize } = controllerDefaults();
  const { api, reconciler, ops } = compatWorld({ cache: new DataKeyCache(cacheSize / SCALE), budget: new UnsealBudget(COMPAT_RSA_PER_NAMESPACE_PER_MINUTE / SCALE, now) });
  const put = (o: SealedSecretObject): void => { api.sealed.set(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o); };
  return { reconciler, put, ops };
}

function bitnamiSealed(namespace: string, name: string, count: number): SealedSecretObject {
  const cert = createPublicKey(vectorKey('b').certPem);
  const label = bitnamiLabel('strict', namespace, name);
  const encryptedData = Object.fromEntries(Array.from({ length: count }, (_, i) => [`v${String(i)}`, Buffer.from(sealBitnamiValue(cert, new Uint8Array(Buffer.from(`value-${String(i)}`)), label)).toString('base64')]));
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace, uid: `uid-${namespace}-${name}`, generation: 1, resourceVersion: '5' }, spec: { encryptedData, template: {} } };
}

describe('compat mode: one tenant and the shared data-key cache (attack25)', () => {
  it('cannot make another namespace pay RSA again at its next resync, at the default cache size', async () => {
    const { resyncMs } = controllerDefaults();
    let t = 1_000_000;
    const perMinute = COMPAT_RSA_PER_NAMESPACE_PER_MINUTE / SCALE; // 6
    const w = world(() => t);

    w.put(bitnamiSealed('victim', 'db', 5));
    await w.reconciler.reconcile('victim/db');
    expect(w.ops()).toBe(6); // key a tried once, then b for each value

    // the tenant, within its budget: one new SealedSecret of perMinute - 1 values (plus one try of key a) a minute until the next resync
    for (let minute = 0; minute < resyncMs / 60_000; minute++) {
      t += 60_000;
      w.put(bitnamiSealed('tenant', `s${String(minute)}`, perMinute - 1));
      await w.reconciler.reconcile(`tenant/s${String(minute)}`);
    }

    // the victim's resync: its keys were used one resync period ago
    const before = w.ops();
    await w.reconciler.reconcile('victim/db');
    expect(w.ops() - before).toBe(0); // 5 at 10,000 (0 at 100,000)
  });

  it('costs no RSA at a resync of 12,000 values across namespaces (no tenant needed)', async () => {
    const w = world(() => 1_000_000);
    const teams = ['t1', 't2', 't3'];
    for (const ns of teams) w.put(bitnamiSealed(ns, 'app', 4)); // 12 values: 12,000 unscaled
    for (const ns of teams) await w.reconciler.reconcile(`${ns}/app`);
    const before = w.ops();
    for (const ns of teams) await w.reconciler.reconcile(`${ns}/app`); // a resync: the least recently used key is always the next one needed
    expect(w.ops() - before).toBe(0); // 12 at 10,000 (0 at 100,000)
  });
});
