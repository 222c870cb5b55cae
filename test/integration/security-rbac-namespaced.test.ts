// deploy/namespaced/ (issue 11, item 4c): with --watch-namespaces, the
// controller's token gets Secret access only in the watched namespaces and
// its key Secrets only in its own, not cluster-wide; and the controller works
// with exactly that token.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace } from '../cluster/helpers.js';
import { canI } from '../chaos/rbac-docs.js';
import { useController } from '../controller/harness.js';
import { namespacedControllerRbac } from '../controller/rbac.js';
import { createSealed, fetchCert, seal, secretText, waitForReady, waitForSecret } from '../controller/sealed.js';

const env = useController({ prefix: 'sec-nsrbac', watchedNamespaces: 2, rbac: namespacedControllerRbac });

function tokenKc(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.tokenKubeconfig);
  return kc;
}

describe('the namespaced variant deploy/namespaced/', () => {
  it('runs the controller with Secret access in the watched namespaces only', async () => {
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    for (const ns of env.namespaces) {
      await createSealed(ns, await seal(cert, { name: 'app', namespace: ns, data: { password: `for-${ns}` } }));
      expect(secretText(await waitForSecret(ns, 'app'))).toEqual({ password: `for-${ns}` });
      await waitForReady(ns, 'app', 'True');
    }
    expect(env.rbac.filter((o) => o.kind === 'ClusterRoleBinding')).toEqual([]);
    const kc = tokenKc();
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) {
      for (const ns of env.namespaces) expect(await canI(kc, { verb, resource: 'secrets', namespace: ns }), `${verb} secrets in watched ${ns}`).toBe(true);
    }
    const other = await createNamespace('sec-nsrbac-other');
    try {
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) {
        expect(await canI(kc, { verb, resource: 'secrets', namespace: other }), `${verb} secrets in unwatched ${other}`).toBe(false);
        expect(await canI(kc, { verb, resource: 'secrets', namespace: 'kube-system' }), `${verb} secrets in kube-system`).toBe(false);
      }
      expect(await canI(kc, { verb: 'list', resource: 'secrets' }), 'list secrets cluster-wide').toBe(false);
      expect(await canI(kc, { verb: 'list', group: 'sealbox.dev', resource: 'sealedsecrets' }), 'list sealedsecrets cluster-wide').toBe(false);
      // its own namespace: the key Secrets, nothing more
      const own = env.controllerNamespace;
      expect(await canI(kc, { verb: 'watch', resource: 'secrets', namespace: own })).toBe(true);
      expect(await canI(kc, { verb: 'create', resource: 'secrets', namespace: own })).toBe(true);
      for (const verb of ['get', 'update', 'delete']) expect(await canI(kc, { verb, resource: 'secrets', namespace: own }), `${verb} secrets in ${own}`).toBe(false);
    } finally {
      await deleteNamespace(other);
    }
  });
});
