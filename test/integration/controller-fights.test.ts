// A writer that changes a managed Secret back every time the controller
// restores it (issue 11, item 6d; kube-controller-manager's token controller
// did this to a service-account-token template): the controller must not
// fight it in a loop. It restores the Secret a few times, then reports
// Ready=False reason Conflict and writes again only after a backoff; once the
// writer stops, the Secret matches Git again and the status says so.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiErrorCode, eventually, kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import { createSealed, fetchCert, getSealed, readSecret, readyCondition, seal, secretText, waitForReady } from '../controller/sealed.js';

const env = useController({ prefix: 'ctl-fight' });
const FIGHT_MS = 20_000;
const GIT = 'from-git';
const THEIRS = 'from-the-other-writer';

/** Puts THEIRS back whenever the Secret holds something else, until `done()`; returns its writes. */
async function otherWriter(namespace: string, name: string, done: () => boolean): Promise<number> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  let writes = 0;
  while (!done()) {
    const s = await readSecret(namespace, name);
    if (s !== undefined && secretText(s).v !== THEIRS) {
      try {
        await core.replaceNamespacedSecret({ namespace, name, body: { ...s, data: { v: Buffer.from(THEIRS).toString('base64') } } });
        writes++;
      } catch (err) {
        if (apiErrorCode(err) !== 409) throw err;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return writes;
}

describe('another writer changing a managed Secret back in a loop', () => {
  it('makes the controller stop after a few restores, report Conflict, and recover once the writer stops', async () => {
    const ns = env.namespace;
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    await createSealed(ns, await seal(await fetchCert(ctl.url), { name: 'contested', namespace: ns, data: { v: GIT } }));
    await waitForReady(ns, 'contested', 'True');
    const updates = async (): Promise<number> => metricValue(await scrape(ctl.url), 'sealbox_reconciles_total', (l) => l.result === 'updated');
    const before = await updates();

    const started = Date.now();
    const done = (): boolean => Date.now() - started > FIGHT_MS;
    let conflict: { reason: string; message: string } | undefined;
    const watchStatus = async (): Promise<void> => {
      while (!done() && conflict === undefined) {
        const c = readyCondition(await getSealed(ns, 'contested'));
        if (c?.reason === 'Conflict') conflict = c;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const [writes] = await Promise.all([otherWriter(ns, 'contested', done), watchStatus()]);
    const restores = (await updates()) - before;

    expect(conflict, 'the status reported Conflict while the writer was at it').toBeDefined();
    expect(conflict?.message).toContain(`secret "${ns}/contested" was changed back by another writer`);
    expect(conflict?.message).not.toContain(GIT);
    // without a limit, each round trip of the two writers is a restore: hundreds in 20 s
    expect(restores, `the controller restored the Secret ${restores} times in ${FIGHT_MS / 1000} s`).toBeLessThanOrEqual(12);
    expect(restores).toBeGreaterThanOrEqual(5);
    expect(writes).toBeGreaterThanOrEqual(restores);

    const stoppedAt = Date.now();
    await eventually('the Secret to match Git again', async () => ((await readSecret(ns, 'contested'))?.data?.v === Buffer.from(GIT).toString('base64') ? true : undefined), 90_000, 250);
    const ready = await waitForReady(ns, 'contested', 'True', 30_000);
    expect(readyCondition(ready)?.reason).toBe('Unsealed');
    process.stderr.write(`fight: the other writer wrote ${writes} times in ${FIGHT_MS / 1000} s; the controller restored ${restores} times, and matched Git ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the writer stopped\n`);
  }, 180_000);
});
