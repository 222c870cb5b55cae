// Another writer fighting the controller over the same Secrets (issue 7,
// item 2): four loops overwrite the data of 20 managed Secrets — two with
// writes conditional on the resourceVersion they read (kubectl edit), two
// with blind replaces (no resourceVersion, as `kubectl replace -f FILE`) —
// for at least 10 s and until the controller has met a 409 Conflict (at most
// 90 s: since the controller's writes skip client-node's serializer, its
// GET-to-replace window is short, and 409s come about one in 7 s). The controller retries, and once the writers stop every Secret
// matches Git again and stays so.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiErrorCode, eventually, kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import { createSealed, fetchCert, readSecret, seal, secretText, waitForReady } from '../controller/sealed.js';

const RESOURCES = 20;
const WRITERS = 4;
const WRITE_FOR_MS = 10_000;
const MAX_WRITE_MS = 90_000;
// --fight-limit 0: this test is about 409 retries while writes race; that the
// controller pauses instead of fighting a writer for long is
// controller-fights.test.ts (with the default limit these writers would make
// it pause every Secret within seconds, and it would meet few 409s)
const env = useController({ prefix: 'chaos-409', extraArgs: ['--fight-limit', '0'] });

interface WriterStats { writes: number; conflicts: number; notFound: number }

/**
 * Overwrites random Secrets until `done()`: reads one, then replaces its data,
 * conditionally on the resourceVersion read, or blindly (no resourceVersion).
 */
async function writer(id: number, namespace: string, names: readonly string[], blind: boolean, done: () => boolean): Promise<WriterStats> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const stats: WriterStats = { writes: 0, conflicts: 0, notFound: 0 };
  for (let n = 0; !done(); n++) {
    const name = names[Math.floor(Math.random() * names.length)] ?? '';
    try {
      const s = await core.readNamespacedSecret({ namespace, name });
      const metadata = blind ? { ...s.metadata, resourceVersion: undefined } : s.metadata;
      // a blind writer writes four times in a row: the controller's revert of
      // the first, planned on the Secret it read, then races the next ones
      for (let k = 0; k < (blind ? 4 : 1); k++) {
        await core.replaceNamespacedSecret({ namespace, name, body: { ...s, metadata, data: { v: Buffer.from(`writer-${id}-${n}-${k}`).toString('base64') } } });
        stats.writes++;
      }
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === 409) stats.conflicts++;
      else if (code === 404) stats.notFound++;
      else throw err;
    }
  }
  return stats;
}

describe('a second writer on the same Secrets', () => {
  it('makes the controller retry on 409 Conflict, and every Secret matches Git once the writer stops', async () => {
    const ns = env.namespace;
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const cert = await fetchCert(ctl.url);
    const names = Array.from({ length: RESOURCES }, (_, i) => `contested-${i}`);
    const git = new Map(names.map((name) => [name, `git-${name}-${randomBytes(4).toString('hex')}`]));
    for (const name of names) await createSealed(ns, await seal(cert, { name, namespace: ns, data: { v: git.get(name) ?? '' } }));
    for (const name of names) await waitForReady(ns, name, 'True');
    const before = await scrape(ctl.url);
    const logStart = ctl.log().length;

    const started = Date.now();
    const controllerConflicts = (): number => ctl.log().slice(logStart).split('\n').filter((l) => l.includes('"reconcile failed"') && l.includes('HTTP 409')).length;
    const done = (): boolean => Date.now() - started > MAX_WRITE_MS || (Date.now() - started > WRITE_FOR_MS && controllerConflicts() >= 1);
    const results = await Promise.all(Array.from({ length: WRITERS }, (_, id) => writer(id, ns, names, id >= WRITERS - 2, done)));
    const stoppedAt = Date.now();
    const total = results.reduce((t, r) => ({ writes: t.writes + r.writes, conflicts: t.conflicts + r.conflicts, notFound: t.notFound + r.notFound }), { writes: 0, conflicts: 0, notFound: 0 });
    expect(total.writes, 'the writers got writes in').toBeGreaterThan(RESOURCES);

    await eventually('every Secret to match Git again', async () => {
      for (const name of names) {
        const s = await readSecret(ns, name);
        if (s === undefined || secretText(s).v !== git.get(name)) return undefined;
      }
      return true;
    }, 60_000, 250);
    const convergedMs = Date.now() - stoppedAt;

    // the controller's own writes lost races: 409s, retried, and not reported as a failure in the status
    const conflicts = controllerConflicts();
    expect(conflicts).toBeGreaterThan(0);
    const after = await scrape(ctl.url);
    const updates = metricValue(after, 'sealbox_reconciles_total', (l) => l.result === 'updated') - metricValue(before, 'sealbox_reconciles_total', (l) => l.result === 'updated');
    expect(updates, 'the controller reverted the writers').toBeGreaterThan(0);
    for (const name of names) {
      const o = await waitForReady(ns, name, 'True');
      expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Unsealed');
    }

    // and it stays so: nothing writes the Secrets any more
    const versions = await Promise.all(names.map(async (name) => (await readSecret(ns, name))?.metadata?.resourceVersion));
    await new Promise((r) => setTimeout(r, 3000));
    expect(await Promise.all(names.map(async (name) => (await readSecret(ns, name))?.metadata?.resourceVersion))).toEqual(versions);
    process.stderr.write(`conflicts: ${WRITERS} writers for ${((stoppedAt - started) / 1000).toFixed(0)} s made ${total.writes} writes (${total.conflicts} of theirs lost to 409); the controller reverted ${updates} times, met ${conflicts} 409s, and matched Git ${(convergedMs / 1000).toFixed(1)} s after the writers stopped\n`);
  }, 240_000);
});
