// A controller that cannot start reconciling fails the same way with and
// without leader election (issue 13): it logs "could not start reconciling"
// with the reason and exits 1, and nothing reaches Node's unhandled-rejection
// handler. A controller whose start itself fails (its HTTP port is taken)
// stops what it started and exits instead of hanging on its open watch.
//
// The failure is a real one: the kubeconfig's exec credential plugin
// (test/controller/exec-credential.mjs) stops handing out tokens, as a cloud
// login that expired does, right before the informers of Secrets and sealed
// resources open their watches (which stream the initial lists), so that
// opening them throws. It succeeds for exactly the requests the controller
// makes until then, one at a time (a retry period longer than the test keeps
// the elector from renewing in between):
// - with leader election, on a fresh controller namespace: the key Secrets'
//   watch (its initial list streams), the Lease's read and create, the
//   certificate ConfigMap's read, the first key's create and the ConfigMap's
//   create: 6;
// - without, once that key exists: the key Secrets' watch and the
//   ConfigMap's read: 2.
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { useController } from '../controller/harness.js';
import { sealboxAsync } from '../helpers/cli.js';

const env = useController({ prefix: 'ctl-start', replicas: 0 });
const PLUGIN = fileURLToPath(new URL('../controller/exec-credential.mjs', import.meta.url));

/** A kubeconfig whose credentials come from the exec plugin, good for `succeed` requests. */
function expiringKubeconfig(name: string, succeed: number): string {
  const token = new k8s.KubeConfig();
  token.loadFromFile(env.tokenKubeconfig);
  const cluster = token.getCurrentCluster();
  if (cluster === null) throw new Error('the token kubeconfig has no cluster');
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser(cluster, {
    name: 'expiring-login',
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: process.execPath,
      args: [PLUGIN],
      env: [
        { name: 'SEALBOX_TEST_TOKEN', value: token.getCurrentUser()?.token ?? '' },
        { name: 'SEALBOX_TEST_COUNTER', value: join(env.dir, `${name}.calls`) },
        { name: 'SEALBOX_TEST_SUCCEED', value: String(succeed) },
      ],
      interactiveMode: 'Never',
    },
  });
  const file = join(env.dir, `${name}.kubeconfig`);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

function controllerArgs(kubeconfig: string, extra: readonly string[], listen = '127.0.0.1:0'): string[] {
  return [
    'controller',
    '--kubeconfig', kubeconfig,
    '--namespace', env.controllerNamespace,
    '--watch-namespaces', env.namespace,
    '--listen', listen,
    '--key-bits', '2048',
    '--lease-duration', '120s', '--renew-deadline', '90s', '--retry-period', '60s',
    ...extra,
  ];
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs a controller that loses its credentials before it leads; returns how it ended. */
async function failingController(name: string, succeed: number, extra: readonly string[]): Promise<{ code: number | null; errors: Record<string, unknown>[]; stray: string[] }> {
  const res = await sealboxAsync(controllerArgs(expiringKubeconfig(name, succeed), extra), { timeoutMs: 60_000 });
  const out = `${res.stdout}\n${res.stderr}`;
  writeFileSync(join(env.dir, `${name}.out`), out); // kept with SEALBOX_CLUSTER_KEEP=1
  return {
    code: res.status,
    errors: jsonLines(out).filter((r) => r.level === 50).map((r) => ({ msg: r.msg, err: r.err })),
    // anything that is not a JSON log line: Node's report of an unhandled rejection, a stack,
    // a deprecation warning (on Node 24: test/cli/node24-warnings.test.ts)
    stray: out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{')),
  };
}

describe('a controller that cannot start', () => {
  it('fails the same way with and without leader election: "could not start reconciling" with the reason, exit 1, no unhandled rejection', async () => {
    const elected = await failingController('elected', 6, []);
    const alone = await failingController('alone', 2, ['--no-leader-elect']);
    for (const r of [elected, alone]) {
      expect(r.stray).toEqual([]);
      expect(r.code).toBe(1);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]?.msg).toBe('could not start reconciling');
      expect(String(r.errors[0]?.err)).toContain('credential plugin: login expired');
    }
    const shape = (r: typeof alone): unknown => ({ code: r.code, msgs: r.errors.map((e) => e.msg) });
    expect(shape(alone)).toEqual(shape(elected));
  }, 120_000);

  it('stops what it started and exits when its HTTP port is taken, instead of hanging on its key watch', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const address = taken.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const started = Date.now();
      const res = await sealboxAsync(controllerArgs(env.tokenKubeconfig, ['--no-leader-elect'], `127.0.0.1:${address.port}`), { timeoutMs: 60_000 });
      expect(res.stderr).toContain('EADDRINUSE');
      expect(res.status).toBe(1);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 120_000);
});
