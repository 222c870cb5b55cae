// `--events warnings`: the controller records no Normal Events (Created,
// Updated) for the Secrets it writes, one API write less per Secret, and
// still records every Warning Event. (The default, `all`, records both:
// controller-sync.test.ts.)
import { describe, expect, it } from 'vitest';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { eventually } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { createSealed, eventsFor, fetchCert, seal, secretText, updateSealedSpec, waitForReady, waitForSecret } from '../controller/sealed.js';

const env = useController({ prefix: 'ctl-events', extraArgs: ['--events', 'warnings'] });

describe('--events warnings', () => {
  it('writes the Secret and its status but no Normal Event, on create and on update', async () => {
    const ns = env.namespace;
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    await createSealed(ns, await seal(cert, { name: 'quiet', namespace: ns, data: { password: 'one' } }));
    await waitForSecret(ns, 'quiet');
    // Ready is written after the event would have been: no wait can miss one
    await waitForReady(ns, 'quiet', 'True');
    const next = await seal(cert, { name: 'quiet', namespace: ns, data: { password: 'two' } });
    await updateSealedSpec(ns, 'quiet', next.spec);
    await waitForSecret(ns, 'quiet', (s) => secretText(s).password === 'two', 10_000);
    await waitForReady(ns, 'quiet', 'True'); // of generation 2: readyCondition compares observedGeneration
    expect((await eventsFor(ns, 'quiet')).map((e) => `${e.type ?? ''} ${e.reason ?? ''}`)).toEqual([]);
  });

  it('still records the Warning Event of a failure', async () => {
    const ns = env.namespace;
    const foreign = await generateSealingKey({ bits: 2048, commonName: 'another-cluster' });
    await createSealed(ns, await seal(foreign.certificatePem, { name: 'foreign', namespace: ns, data: { password: 'x' } }));
    await waitForReady(ns, 'foreign', 'False');
    const warning = await eventually('a NoKey Warning event', async () =>
      (await eventsFor(ns, 'foreign')).find((e) => e.type === 'Warning' && e.reason === 'NoKey'), 10_000);
    expect(warning.involvedObject.name).toBe('foreign');
    expect((await eventsFor(ns, 'foreign')).filter((e) => e.type === 'Normal')).toEqual([]);
  });
});
