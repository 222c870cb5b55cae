// Two controller replicas sharing one Lease: only the leader reconciles, both
// serve certificates, and after the leader is killed (SIGKILL, no lease
// release) the other takes over within the lease duration without writing
// any Secret with different content.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import { useController, waitForLeader } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { ControllerProcess } from '../controller/process.js';
import { createSealed, fetchCert, readSecret, seal, secretText, waitForReady, waitForSecret } from '../controller/sealed.js';

const LEASE_MS = 4000; // --lease-duration in the harness
const env = useController({ prefix: 'ctl-ha', replicas: 2 });

async function leaderOf(controllers: readonly ControllerProcess[]): Promise<{ leader: ControllerProcess; follower: ControllerProcess }> {
  const live = controllers.filter((c) => c.alive());
  const flags = await Promise.all(live.map(async (c) => metricValue(await scrape(c.url), 'sealbox_leader')));
  expect([...flags].sort()).toEqual([0, 1]);
  const leader = live.find((_, i) => flags[i] === 1);
  const follower = live.find((_, i) => flags[i] === 0);
  if (leader === undefined || follower === undefined) throw new Error('expected one leader and one follower');
  return { leader, follower };
}

/** Every version of every Secret in `namespace` seen by a watch, as data JSON by name. */
async function watchSecrets(namespace: string): Promise<{ versions: Map<string, string[]>; stop: () => void }> {
  const versions = new Map<string, string[]>();
  const req = await new k8s.Watch(kubeConfig()).watch(`/api/v1/namespaces/${namespace}/secrets`, {},
    (type: string, s: k8s.V1Secret) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const name = s.metadata?.name ?? '';
      versions.set(name, [...(versions.get(name) ?? []), JSON.stringify(s.data ?? {})]);
    }, () => undefined);
  return { versions, stop: () => { req.abort(); } };
}

describe('two replicas', () => {
  it('lets only the leader reconcile while both serve the same certificate', async () => {
    const ns = env.namespace;
    const { leader, follower } = await leaderOf(env.controllers);
    const [a, b] = await Promise.all([fetchCert(leader.url), fetchCert(follower.url)]);
    expect(b).toBe(a);
    expect((await fetch(`${follower.url}/readyz`)).status).toBe(200);
    for (let i = 0; i < 10; i++) await createSealed(ns, await seal(a, { name: `s${i}`, namespace: ns, data: { v: `value-${i}` } }));
    for (let i = 0; i < 10; i++) await waitForReady(ns, `s${i}`, 'True');
    const [lm, fm] = await Promise.all([scrape(leader.url), scrape(follower.url)]);
    expect(metricValue(lm, 'sealbox_reconciles_total')).toBeGreaterThanOrEqual(10);
    expect(metricValue(fm, 'sealbox_reconciles_total')).toBe(0);
    // the follower does not even list sealed resources, and writes no Secret,
    // status or event (it lists Secrets only to load the sealing keys)
    const followerCalls = (l: Readonly<Record<string, string>>): boolean =>
      (l.resource ?? '').startsWith('sealedsecrets') || l.resource === 'events' || (l.resource === 'secrets' && !['list', 'watch'].includes(l.verb ?? ''));
    expect(metricValue(fm, 'sealbox_api_requests_total', followerCalls)).toBe(0);
    expect(metricValue(lm, 'sealbox_api_requests_total', followerCalls)).toBeGreaterThan(0);
  });

  it('fails over to the other replica within the lease duration after the leader is killed, writing no Secret twice with different content', async () => {
    const ns = env.namespace;
    const { leader, follower } = await leaderOf(env.controllers);
    expect(metricValue(await scrape(follower.url), 'sealbox_reconciles_total')).toBe(0);
    const cert = await fetchCert(follower.url);
    const before = await readSecret(ns, 's0');
    const pending = await seal(cert, { name: 'after-kill', namespace: ns, data: { v: 'created by the new leader' } });
    const watch = await watchSecrets(ns);
    try {
      const killedAt = Date.now();
      await leader.kill('SIGKILL');
      await createSealed(ns, pending);
      const created = await waitForSecret(ns, 'after-kill', () => true, LEASE_MS + 10_000, 50);
      const elapsed = Date.now() - killedAt;
      expect(secretText(created)).toEqual({ v: 'created by the new leader' });
      expect(elapsed, `secret appeared ${elapsed} ms after the kill`).toBeLessThanOrEqual(LEASE_MS + 4000);
      expect(await waitForLeader([follower], 5000)).toBe(follower);
      // the new leader wrote it (its log line follows the status update)
      await eventually('the new leader to log creating after-kill', () =>
        Promise.resolve(follower.logRecords().some((r) => r.name === 'after-kill' && r.result === 'created') ? true : undefined), 5000);
      // the new leader re-checks every resource (resync on start) ...
      await eventually('the new leader to re-check the existing resources', async () =>
        metricValue(await scrape(follower.url), 'sealbox_reconciles_total', (l) => l.result === 'unchanged') >= 10 ? true : undefined, 10_000);
      // ... and writes none of them: same version, every observed version identical
      expect((await readSecret(ns, 's0'))?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
      for (const [name, seen] of watch.versions) {
        expect(new Set(seen).size, `secret ${name} was seen with different data: ${seen.join(' | ')}`).toBe(1);
      }
      expect([...watch.versions.keys()]).toContain('after-kill');
    } finally {
      watch.stop();
    }
  }, 60_000);
});
