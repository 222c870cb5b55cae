// `sealbox validate` and `sealbox reseal --compact` (issue 12) through the
// built CLI against a real controller on the local control plane, and their
// endpoints (POST /v1/validate, /v1/compact) as an attacker would use them:
// no plaintext or anything derived from it in an answer, no value moved to
// another namespace, name or scope, and no more key operations than re-wrap.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { useController } from '../controller/harness.js';
import { sealboxAsync } from '../helpers/cli.js';
import { flipValueBit } from '../helpers/tamper.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, fetchCert, seal, waitForReady, waitForSecret } from '../controller/sealed.js';

const env = useController({ prefix: 'compact' });
const url = (path = ''): string => `${env.controllers[0]?.url ?? ''}${path}`;
const MARKER = 'plaintext-marker-7c41';
const refill = (): Promise<void> => new Promise((r) => setTimeout(r, 2500));

async function sealbox(args: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await sealboxAsync(args, { cwd: env.dir, ...(input === undefined ? {} : { input }) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function rsaOps(): Promise<number> {
  return metricValue(await scrape(url()), 'sealbox_rsa_private_operations_total');
}

async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url(path), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

const secretYaml = (name: string, ns: string, data: Record<string, string>): string =>
  `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${ns}}\nstringData:\n${Object.entries(data).map(([k, v]) => `  ${k}: ${v}\n`).join('')}`;

/** Writes the controller's certificate and a certificate of some other key; returns their paths. */
async function certificates(): Promise<{ ctrl: string; other: string }> {
  const ctrl = join(env.dir, 'ctrl.pem');
  writeFileSync(ctrl, await fetchCert(url()));
  const other = join(env.dir, 'other.pem');
  const k = await sealbox(['keygen', '--bits', '2048', '--key-out', join(env.dir, 'other.key'), '--cert-out', other, '--force']);
  expect(k.code, k.stderr).toBe(0);
  return { ctrl, other };
}

/** A sealed file with `merges` --merge-into runs after the first seal: merges + 1 data-key groups. */
async function mergedFile(file: string, name: string, certs: readonly string[], merges: number, scope = 'strict'): Promise<Record<string, string>> {
  const values: Record<string, string> = { user: `${MARKER}-user` };
  const certArgs = certs.flatMap((c) => ['--cert', c]);
  const first = await sealbox(['seal', ...certArgs, '--scope', scope, '-o', file], secretYaml(name, env.namespace, values));
  expect(first.code, first.stderr).toBe(0);
  for (let i = 1; i <= merges; i++) {
    values[`k${i}`] = `${MARKER}-${'x'.repeat(i * 7)}`;
    const r = await sealbox(['seal', ...certArgs, '--merge-into', file, '--name', name, '--namespace', env.namespace, '--from-literal', `k${i}=${values[`k${i}`] ?? ''}`]);
    expect(r.code, r.stderr).toBe(0);
  }
  return values;
}

const manifestOf = (file: string): SealedObject => parse(readFileSync(file, 'utf8')) as SealedObject;

describe('sealbox reseal --compact', () => {
  it('turns seven data-key groups into one: the file keeps its comments, unsealing costs one RSA operation, every value is the same', async () => {
    const { ctrl } = await certificates();
    const file = join(env.dir, 'merged.yaml');
    const values = await mergedFile(file, 'merged', [ctrl], 6);
    writeFileSync(file, `# owned by team db\n${readFileSync(file, 'utf8')}`);
    expect(manifestOf(file).spec.dataKeys).toHaveLength(7);

    await refill();
    const r = await sealbox(['reseal', '--compact', '--controller-url', url(), file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('1 file(s) resealed, 1 sealed resource(s) checked, 1 compacted');
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# owned by team db\n')).toBe(true);
    expect(text).not.toContain(MARKER);
    const after = manifestOf(file);
    expect(after.spec.dataKeys).toHaveLength(1);
    expect(after.spec.dataKeys[0]?.recipients).toHaveLength(1);
    expect(after.spec.dataKeys[0]?.binding).toBe(`strict/${env.namespace}/merged`);
    expect(Object.keys(after.spec.encryptedData).sort()).toEqual(Object.keys(values).sort());

    const before = await rsaOps();
    await createSealed(env.namespace, after);
    await waitForReady(env.namespace, 'merged', 'True');
    const secret = await waitForSecret(env.namespace, 'merged');
    expect((await rsaOps()) - before).toBe(1);
    const got = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(got).toEqual(values);
  });

  it.each(['namespace', 'cluster'])('keeps %s scope and its binding exactly', async (scope) => {
    const { ctrl } = await certificates();
    const file = join(env.dir, `scope-${scope}.yaml`);
    await mergedFile(file, `scope-${scope}`, [ctrl], 2, scope);
    await refill();
    const r = await sealbox(['reseal', '--compact', '--controller-url', url(), file]);
    expect(r.code, r.stderr).toBe(0);
    const after = manifestOf(file);
    expect(after.spec.scope).toBe(scope);
    expect(after.spec.dataKeys.map((g) => g.binding)).toEqual([scope === 'cluster' ? 'cluster' : `namespace/${env.namespace}`]);
  });

  it('refuses a resource moved to another namespace or widened to cluster scope, writing nothing (exit 4)', async () => {
    const { ctrl } = await certificates();
    const file = join(env.dir, 'moved.yaml');
    await mergedFile(file, 'moved', [ctrl], 2);
    const original = readFileSync(file, 'utf8');
    for (const edit of [original.replace(`namespace: ${env.namespace}`, 'namespace: elsewhere'), original.replace('scope: strict', 'scope: cluster')]) {
      writeFileSync(file, edit);
      await refill();
      const r = await sealbox(['reseal', '--compact', '--controller-url', url(), file]);
      expect(r.code, r.stderr).toBe(EXIT_CODES.SCOPE);
      expect(r.stderr).toContain('the controller cannot compact');
      expect(readFileSync(file, 'utf8')).toBe(edit);
    }
  });

  it('refuses a resource with a group the controller cannot open, writing nothing (exit 5)', async () => {
    const { ctrl, other } = await certificates();
    const file = join(env.dir, 'foreign-group.yaml');
    await mergedFile(file, 'foreign', [ctrl], 1);
    const theirs = join(env.dir, 'theirs.yaml');
    await mergedFile(theirs, 'foreign', [other], 0);
    const m = manifestOf(file);
    const t = manifestOf(theirs);
    m.spec.dataKeys.push(...t.spec.dataKeys);
    m.spec.encryptedData.theirs = t.spec.encryptedData.user ?? '';
    const text = JSON.stringify(m);
    writeFileSync(file, text);
    await refill();
    const r = await sealbox(['reseal', '--compact', '--controller-url', url(), file]);
    expect(r.code, r.stderr).toBe(EXIT_CODES.NO_KEY);
    expect(r.stderr).toMatch(/the controller cannot compact: .*none of them a key of this controller, so it cannot open it/);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('refuses a resource with a value that does not authenticate, writing nothing (exit 6)', async () => {
    const { ctrl } = await certificates();
    const file = join(env.dir, 'tampered.yaml');
    await mergedFile(file, 'tampered', [ctrl], 2);
    const m = manifestOf(file);
    const v = m.spec.encryptedData.k2 ?? '';
    m.spec.encryptedData.k2 = flipValueBit(v, -1);
    const text = JSON.stringify(m);
    writeFileSync(file, text);
    await refill();
    const r = await sealbox(['reseal', '--compact', '--controller-url', url(), file]);
    expect(r.code, r.stderr).toBe(EXIT_CODES.TAMPERED);
    expect(r.stderr).toContain('value "k2" does not authenticate');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('refuses a resource also sealed for another key, which would lose access, before any RSA operation (exit 3)', async () => {
    const { ctrl, other } = await certificates();
    const file = join(env.dir, 'two-clusters.yaml');
    await mergedFile(file, 'two-clusters', [ctrl, other], 2);
    const text = readFileSync(file, 'utf8');
    await refill();
    const before = await rsaOps();
    const r = await sealbox(['reseal', '--compact', '--controller-url', url(), file]);
    expect(r.code, r.stderr).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('would lock that recipient out');
    expect((await rsaOps()) - before).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('sealbox validate', () => {
  it('prints one line per resource and exits 10 when the controller cannot unseal one; files, several -f and stdin', async () => {
    const { ctrl, other } = await certificates();
    const good = join(env.dir, 'v-good.yaml');
    await mergedFile(good, 'v-good', [ctrl], 1);
    const bad = join(env.dir, 'v-bad.yaml');
    await mergedFile(bad, 'v-bad', [other], 0);
    await refill();

    const ok = await sealbox(['validate', '--controller-url', url(), '-f', 'v-good.yaml']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`ok: v-good.yaml document 1 ("${env.namespace}/v-good")\n`);

    const mixed = await sealbox(['validate', '--controller-url', url(), '-f', 'v-good.yaml', '-f', '-'], readFileSync(bad, 'utf8'));
    expect(mixed.code, mixed.stderr).toBe(EXIT_CODES.FINDINGS);
    const lines = mixed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`ok: v-good.yaml document 1 ("${env.namespace}/v-good")`);
    expect(lines[1]).toMatch(new RegExp(`^cannot unseal: standard input document 1 \\("${env.namespace}/v-bad"\\): .*data-key group [0-9a-f]+.* \\(NO_KEY\\)$`));
    expect(mixed.stderr).toContain('the controller cannot unseal 1 of 2 sealed resource(s)');
    expect(mixed.stdout + mixed.stderr).not.toContain(MARKER);
  });

  it('names a value that does not authenticate, and answers nothing that depends on its plaintext', async () => {
    const cert = await fetchCert(url());
    const forValue = async (value: string): Promise<SealedObject> => {
      const s = await seal(cert, { name: 'v-tampered', namespace: env.namespace, data: { password: value } });
      const v = s.spec.encryptedData.password ?? '';
      s.spec.encryptedData.password = flipValueBit(v, -1);
      return s;
    };
    await refill();
    const short = await post('/v1/validate', JSON.stringify(await forValue(MARKER)));
    const long = await post('/v1/validate', JSON.stringify(await forValue(`${MARKER}-${'y'.repeat(5000)}`)));
    expect(short.status).toBe(409);
    const answer = JSON.parse(short.text) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['code', 'error', 'ok']);
    expect(answer).toMatchObject({ ok: false, code: 'TAMPERED' });
    expect(answer.error).toContain('value "password" does not authenticate');
    // The same answer, byte for byte, whatever the value's length.
    expect(long).toEqual(short);
    expect(short.text).not.toContain(MARKER);
    const fine = await post('/v1/validate', JSON.stringify(await seal(cert, { name: 'v-fine', namespace: env.namespace, data: { password: MARKER } })));
    expect(fine).toEqual({ status: 200, text: '{"ok":true}\n' });
  });
});

describe('the validate and compact endpoints under attack', () => {
  it('spend at most one RSA operation on a group listing the cluster key 100 times', async () => {
    const good = await seal(await fetchCert(url()), { name: 'copies', namespace: env.namespace, data: { password: `${MARKER}-copies` } });
    const copies = structuredClone(good);
    const g = copies.spec.dataKeys[0];
    const stanza = g?.recipients[0];
    if (g === undefined || stanza === undefined) throw new Error('no stanza');
    g.recipients = Array.from({ length: 100 }, () => ({ ...stanza, wrapped: Buffer.alloc(256, 7).toString('base64') }));
    for (const path of ['/v1/validate', '/v1/compact']) {
      await refill();
      const before = await rsaOps();
      const r = await post(path, JSON.stringify(copies));
      expect({ path, status: r.status, ops: (await rsaOps()) - before }).toEqual({ path, status: path === '/v1/validate' ? 409 : 422, ops: 1 });
      expect(r.text).not.toContain(MARKER);
    }
  });

  it('refuse a body over 2 MiB, a body that is not a sealed resource, and GET', async () => {
    await refill();
    for (const path of ['/v1/validate', '/v1/compact']) {
      expect((await post(path, `{"a":"${'x'.repeat(2 * 1024 * 1024 + 10)}"}`)).status).toBe(413);
      expect((await post(path, '{"kind":"Secret"}')).status).toBe(400);
      expect((await fetch(url(path))).status).toBe(405);
    }
  });

  it('share the re-wrap admission: one client gets one burst and one rate across re-wrap, validate and compact together', async () => {
    const good = JSON.stringify(await seal(await fetchCert(url()), { name: 'rate', namespace: env.namespace, data: { password: `${MARKER}-rate` } }));
    const send = (path: string): Promise<number> =>
      fetch(url(path), { method: 'POST', body: good, headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' } }).then((r) => r.status);
    await refill();
    const paths = ['/v1/validate', '/v1/rewrap', '/v1/compact'];
    const t0 = performance.now();
    let admitted = 0;
    for (let i = 0; i < 60; i++) if ((await send(paths[i % 3] ?? '')) !== 429) admitted++;
    const seconds = (performance.now() - t0) / 1000;
    // Shared: at most the burst of 20 plus 10 a second. With a gate per
    // endpoint each would admit its own 20 in a burst: all 60 while the run is short.
    expect(admitted, `${String(admitted)} admitted in ${seconds.toFixed(2)} s`).toBeLessThanOrEqual(20 + Math.ceil(10 * seconds) + 1);
    expect(admitted).toBeGreaterThan(0);
  });
});
