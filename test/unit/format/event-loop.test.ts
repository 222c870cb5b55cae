// A resource may hold 10,000 values (LIMITS.values). Sealing or opening them
// all is seconds of synchronous work on a loaded controller; these tests show
// that the event loop gets a turn every YIELD_EVERY values, so health probes
// and other requests are answered meanwhile (attack12: /healthz stalled 1–9 s).
import { describe, expect, it } from 'vitest';
import { YIELD_EVERY } from '../../../src/crypto/yield.js';
import { sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import { LIMITS } from '../../../src/format/sealed.js';
import type { SecretData } from '../../../src/format/secret.js';
import { vectorIdentity, vectorRecipient } from '../../helpers/keys.js';

function manyValues(n: number): SecretData {
  const data = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) data.set(`k${String(i)}`, new Uint8Array(0));
  return { name: 'many', namespace: 'team-a', type: 'Opaque', labels: {}, annotations: {}, data };
}

/** Counts the event-loop turns (setImmediate callbacks) that run while `work` does. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work();
  running = false;
  return { result, turns };
}

describe('sealing and opening many values', () => {
  const n = LIMITS.values;
  const expected = Math.floor((n - 1) / YIELD_EVERY);

  it(`gives the event loop a turn every ${String(YIELD_EVERY)} values when sealing ${String(n)}`, async () => {
    const secret = manyValues(n);
    const { result, turns } = await turnsDuring(() => sealSecret(secret, { scope: 'strict', wrappers: [vectorRecipient('a')] }));
    expect(result.encryptedData.size).toBe(n);
    expect(turns).toBeGreaterThanOrEqual(expected);
  });

  it(`gives the event loop a turn every ${String(YIELD_EVERY)} values when opening ${String(n)}`, async () => {
    const sealed = await sealSecret(manyValues(n), { scope: 'strict', wrappers: [vectorRecipient('a')] });
    const { result, turns } = await turnsDuring(() => unsealSealedSecret(sealed, [vectorIdentity('a')], 'many'));
    expect(result.data.size).toBe(n);
    expect(turns).toBeGreaterThanOrEqual(expected);
  });
});
