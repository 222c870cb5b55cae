// The image's entry command starts a working controller: deploy/Dockerfile's
// final stage laid out from its COPY lines (test/helpers/dockerfile.ts), its
// ENTRYPOINT run with the Deployment's args and environment, in its WORKDIR,
// as its USER when this runs as root, against the local control plane with
// the service-account token deploy/'s RBAC grants. Only the address changes
// (127.0.0.1:0 instead of :8080) and a kubeconfig stands in for the pod's
// mounted token.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../cluster/helpers.js';
import { ROOT } from '../helpers/cli.js';
import type { ImageRoot } from '../helpers/dockerfile.js';
import { imageCommand, imageRoot, inImage } from '../helpers/dockerfile.js';
import { useController } from '../controller/harness.js';
import { createSealed, fetchCert, seal, secretText, waitForSecret } from '../controller/sealed.js';

// no replica from the harness: this file starts its own, through the image
const env = useController({ prefix: 'image', replicas: 0 });

interface Container { args: string[]; env: { name: string; value?: string }[] }

function deploymentContainer(): Container {
  const deployment = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'deployment.yaml'), 'utf8'))[0]?.toJSON() as { spec: { template: { spec: { containers: Container[] } } } };
  const container = deployment.spec.template.spec.containers[0];
  if (container === undefined) throw new Error('deploy/deployment.yaml has no container');
  return container;
}

/** The token kubeconfig with its CA inlined, at a path in the image readable by its user. */
function kubeconfigInImage(image: ImageRoot): string {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.tokenKubeconfig);
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (cluster === null || token === undefined) throw new Error('the token kubeconfig has no cluster or token');
  const caData = cluster.caFile === undefined ? cluster.caData : readFileSync(cluster.caFile).toString('base64');
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: [{ name: 'local', server: cluster.server, caData, skipTLSVerify: false }],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: 'local', user: 'sa' }],
    currentContext: 'sa',
  });
  const path = '/var/run/sealbox/kubeconfig';
  mkdirSync(dirname(inImage(image.root, path)), { recursive: true });
  writeFileSync(inImage(image.root, path), out.exportConfig());
  chmodSync(inImage(image.root, path), 0o644);
  return path;
}

function start(image: ImageRoot): { child: ChildProcess; output: () => string } {
  const container = deploymentContainer();
  // the Deployment's env: fieldRefs as the kubelet would fill them in
  const podEnv = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? '']));
  Object.assign(podEnv, { POD_NAMESPACE: env.controllerNamespace, POD_NAME: 'sealbox-controller-image-0' });
  const args = [...container.args, '--kubeconfig', inImage(image.root, kubeconfigInImage(image)),
    '--watch-namespaces', env.namespace, '--listen', '127.0.0.1:0', '--key-bits', '2048'];
  const c = imageCommand(image, args, podEnv);
  const child = spawn(c.file, c.args, { cwd: c.cwd, env: c.env, stdio: ['ignore', 'pipe', 'pipe'], ...(c.uid === undefined ? {} : { uid: c.uid, gid: c.gid }) });
  let text = '';
  child.stdout.on('data', (b: Buffer) => { text += b.toString('utf8'); });
  child.stderr.on('data', (b: Buffer) => { text += b.toString('utf8'); });
  return { child, output: () => text };
}

function listening(output: string): string | undefined {
  for (const line of output.split('\n').filter((l) => l.startsWith('{'))) {
    const r = JSON.parse(line) as { msg?: string; address?: string };
    if (r.msg === 'http server listening' && r.address !== undefined) return `http://${r.address}`;
  }
  return undefined;
}

describe('the image\'s entry command', () => {
  let image: ImageRoot;
  let controller: { child: ChildProcess; output: () => string };

  beforeAll(() => {
    image = imageRoot('deploy/Dockerfile');
    controller = start(image);
  });
  afterAll(() => {
    controller.child.kill('SIGKILL');
    image.cleanup();
  });

  it('starts the controller, which answers /healthz and /readyz and makes a Secret from a sealed resource', async () => {
    const url = await eventually('the controller to listen', () => Promise.resolve(listening(controller.output()) ?? (controller.child.exitCode === null ? undefined : 'exited')), 60_000, 100);
    expect(url, controller.output().slice(-2000)).not.toBe('exited');
    await eventually('/readyz to answer 200', async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), 60_000, 200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // as the Dockerfile's USER when this test may switch to it
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${String(controller.child.pid)}/status`, 'utf8'))?.[1];
    expect(Number(uid)).toBe(process.getuid?.() === 0 ? Number(image.final.user?.split(':')[0]) : process.getuid?.());

    const manifest = await seal(await fetchCert(url), { name: 'from-image', namespace: env.namespace, data: { token: 'image entry point' } });
    await createSealed(env.namespace, manifest);
    const secret = await waitForSecret(env.namespace, 'from-image');

    expect(secretText(secret)).toEqual({ token: 'image entry point' });
  });
});
