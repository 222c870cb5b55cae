// The hostile corpus (test/chaos/corpus.ts) through the API server (issue 7,
// item 3): each case is sent as its raw text, as `kubectl create -f` would
// send it (strict field validation). The API server or the CRD schema refuses
// some; for each one it stores, the controller reports the case's specific
// reason in the status and writes no Secret. Throughout, the controller keeps
// serving every other resource, stays up, and its memory stays bounded.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CertRecipient } from '../../src/keys/cert.js';
import { REASONS } from '../../src/controller/reconciler.js';
import { TOO_BIG_FOR_THE_API, hostileCorpus } from '../chaos/corpus.js';
import { kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { rawRequest } from '../controller/manifests.js';
import { createSealed, fetchCert, getSealed, readSecret, readyCondition, seal, secretText, waitForReady, waitForSecret } from '../controller/sealed.js';
import { eventually } from '../cluster/helpers.js';

const env = useController({ prefix: 'sec-hostile' });
const MARKER = `hostile-${randomBytes(8).toString('hex')}`;
/** Peak resident memory the controller may reach while refusing all of it. */
const MAX_CONTROLLER_RSS_MB = 300;

/** What the API server and the controller made of a case. */
type Outcome = { kind: 'refused'; status: number; message: string } | { kind: 'stored'; reason: string; message: string };

/** A process's peak resident set size (VmHWM), in MiB. */
function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 'NaN') / 1024;
}

/** Cases the API server or the CRD schema refuses, by name (everything else is stored). */
const REFUSED_BY_THE_API = new Set([
  'cut-json', 'no-spec', 'huge-name', 'long-namespace', 'long-id', 'v2', 'v1beta1', 'sb2', 'gcp-kms',
  'unknown-field', 'merge-key', 'dup-yaml', 'dup-json', 'dup-group', 'b64-alphabet', 'b64-url', 'b64-space',
  'laughs', 'deep-65', 'deep-100k', 'recipients-10k', 'groups-1001', 'values-10001', 'binary-value', 'immutable-number',
  'spec-list', 'no-scope', 'slash-key', 'nul-byte', 'collection-key',
]);

describe('hostile sealed resources sent to the API server', () => {
  it('are each refused by the API server or reported by the controller with their specific reason, while every other resource keeps syncing', async () => {
    const ns = env.namespace;
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const certPem = await fetchCert(ctl.url);
    const corpus = await hostileCorpus({ namespace: ns, recipient: CertRecipient.fromPem(certPem, 'controller'), marker: MARKER });
    for (let i = 0; i < 5; i++) await createSealed(ns, await seal(certPem, { name: `good-before-${i}`, namespace: ns, data: { v: `before-${i}` } }));

    const outcomes = new Map<string, Outcome>();
    const path = `/apis/sealbox.dev/v1/namespaces/${ns}/sealedsecrets?fieldValidation=Strict`;
    for (const c of corpus) {
      let res: { status: number; body: unknown };
      try {
        res = await rawRequest(kubeConfig(), 'POST', path, c.text, c.text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml');
      } catch (err) {
        // over its 3 MiB request limit the API server may answer 413 and reset
        // the connection before the client has finished sending
        const code = (err as NodeJS.ErrnoException).code;
        if (!TOO_BIG_FOR_THE_API.has(c.name) || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw err;
        res = { status: 413, body: `connection reset while sending (${code})` };
      }
      const body = res.body as { message?: unknown } | string | null;
      const message = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : '';
      if (res.status !== 201) outcomes.set(c.name, { kind: 'refused', status: res.status, message: message.slice(0, 300) });
      else outcomes.set(c.name, { kind: 'stored', reason: '', message: '' });
    }
    for (const c of corpus) {
      const o = outcomes.get(c.name);
      if (o?.kind !== 'stored') continue;
      const obj = await waitForReady(ns, c.name, 'False', 60_000);
      const cond = readyCondition(obj);
      outcomes.set(c.name, { kind: 'stored', reason: cond?.reason ?? '', message: cond?.message ?? '' });
    }

    const report: string[] = [];
    for (const c of corpus) {
      const o = outcomes.get(c.name);
      if (o === undefined) continue;
      if (REFUSED_BY_THE_API.has(c.name)) {
        if (o.kind !== 'refused' || o.status < 400 || o.status >= 500) report.push(`${c.name}: want the API server to refuse it, got ${JSON.stringify(o)}`);
      } else if (o.kind !== 'stored' || o.reason !== REASONS[c.code] || !o.message.includes(c.message)) {
        report.push(`${c.name}: want Ready=False ${REASONS[c.code]} "${c.message}", got ${JSON.stringify(o)}`);
      }
      // (the API server's own refusals may quote the input back to its sender; only what sealbox writes is checked)
      if (o.kind === 'stored') {
        if (JSON.stringify(o).includes(MARKER)) report.push(`${c.name}: the plaintext is in the status: ${JSON.stringify(o)}`);
        if ((await readSecret(ns, c.name)) !== undefined) report.push(`${c.name}: a Secret was written`);
      }
    }
    if (process.env.SEALBOX_CHAOS_VERBOSE === '1') for (const [name, o] of outcomes) process.stderr.write(`${name}: ${JSON.stringify(o).slice(0, 240)}\n`);
    expect(report).toEqual([]);
    const stored = [...outcomes.values()].filter((o) => o.kind === 'stored').length;
    expect(stored, 'some cases reach the controller').toBeGreaterThan(3);

    // the controller still serves everything else, old and new
    for (let i = 0; i < 5; i++) await createSealed(ns, await seal(certPem, { name: `good-after-${i}`, namespace: ns, data: { v: `after-${i}` } }));
    for (const name of [...Array.from({ length: 5 }, (_, i) => `good-before-${i}`), ...Array.from({ length: 5 }, (_, i) => `good-after-${i}`)]) {
      const s = await waitForSecret(ns, name, () => true, 30_000);
      expect(secretText(s).v).toBe(name.replace('good-', ''));
    }
    expect(ctl.alive()).toBe(true);
    expect(peakRssMb(ctl.pid)).toBeLessThan(MAX_CONTROLLER_RSS_MB);
    // and keeps refusing the stored ones on retry without flapping to Ready
    await eventually('a retry of the stored hostile resources', () => Promise.resolve(ctl.log().split('reconcile failed').length > stored * 2 ? true : undefined), 30_000);
    for (const [name, o] of outcomes) if (o.kind === 'stored') expect(readyCondition(await getSealed(ns, name))?.status).toBe('False');
    process.stderr.write(`hostile input through the API server: ${corpus.length} cases, ${corpus.length - stored} refused by the API server, ${stored} stored and refused by the controller; controller peak RSS ${peakRssMb(ctl.pid).toFixed(0)} MiB\n`);
  }, 300_000);
});
