// Secrets hygiene (issue 7, item 5): one marker plaintext goes through every
// path — seal, unseal, merge, rotate --new-data-key, edit, reseal, and the
// controller's success and each of its failure reasons — and is then searched
// for (as text, hex and base64 at every alignment) in the CLI's stdout and
// stderr of every failing command, the controller's logs, events, statuses,
// /metrics, re-wrap responses, and the temporary folders of every process. It
// is found only where it belongs: the Secret, and files written by `unseal -o`
// (mode 0600). The controller runs with --log-level debug.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import { filesUnder, findLeaks, leakNeedles } from '../chaos/leaks.js';
import { eventually, kubeConfig, kubeObject } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, eventsFor, fetchCert, readSecret, seal, secretText, waitForReady, waitForSecret } from '../controller/sealed.js';
import type { Run } from '../helpers/cli.js';
import { sealbox, spawnSealbox } from '../helpers/cli.js';
import { LocalKey } from '../helpers/local-key.js';
import { flipValueBit } from '../helpers/tamper.js';

const MARKER = `marker-${randomBytes(12).toString('hex')}`;
const NEEDLES = leakNeedles(MARKER);
const FAKE_EDITOR = fileURLToPath(new URL('../chaos/fake-editor.mjs', import.meta.url));

// Every process of this file — the controller (started by the harness below),
// each CLI run, the editor — gets a scratch TMPDIR, searched at the end. Set
// before useController's hooks run, so the harness's log folder lands in it too.
const ORIGINAL_TMP = tmpdir();
const SCRATCH = mkdtempSync(join(ORIGINAL_TMP, 'sealbox-hygiene-tmp-'));
/** Where this test keeps files that hold plaintext on purpose (inputs, unseal -o). */
const WORK = mkdtempSync(join(ORIGINAL_TMP, 'sealbox-hygiene-work-'));
const SAVED = { TMPDIR: process.env.TMPDIR, AWS_ENDPOINT_URL_KMS: process.env.AWS_ENDPOINT_URL_KMS, AWS_REGION: process.env.AWS_REGION, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
// A KMS endpoint nobody listens on: KMS-sealed resources fail as ProviderUnavailable.
Object.assign(process.env, { TMPDIR: SCRATCH, AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });

const env = useController({ prefix: 'sec-hyg', watchedNamespaces: 2, extraArgs: ['--kms-providers', 'aws', '--kms-allow', 'default,aws:000000000000:eu-west-1', '--kms-timeout', '2s', '--max-backoff', '5s'] });

/** Everything the CLI printed, by command, where no plaintext may appear. */
const transcript = new Map<string, string>();

afterAll(() => {
  for (const [k, v] of Object.entries(SAVED)) {
    if (v === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = v;
  }
  rmSync(WORK, { recursive: true, force: true });
  if (process.env.SEALBOX_CLUSTER_KEEP !== '1') rmSync(SCRATCH, { recursive: true, force: true });
});

/** Runs the built CLI in WORK with the scratch TMPDIR; records its output unless `plaintextOut`. */
function cli(label: string, args: readonly string[], o: { input?: string; env?: Record<string, string>; plaintextOut?: boolean } = {}): Run {
  const run = sealbox(args, { cwd: WORK, input: o.input ?? '', env: o.env ?? {}, timeoutMs: 60_000 });
  transcript.set(`${label}: stderr`, run.stderr);
  if (o.plaintextOut !== true) transcript.set(`${label}: stdout`, run.stdout);
  return run;
}

function expectExit(r: Run, code: number): void {
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: code });
}

const secretYaml = (name: string, namespace: string, data: Record<string, string>): string =>
  stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data });
const mode = (file: string): number => statSync(file).mode & 0o777;

describe('the CLI with a marker plaintext', () => {
  it('seals, and prints no plaintext when sealing fails in any way', () => {
    expectExit(cli('keygen a', ['keygen', '--bits', '2048', '--key-out', 'a.key', '--cert-out', 'a.crt']), 0);
    expectExit(cli('keygen b', ['keygen', '--bits', '2048', '--key-out', 'b.key', '--cert-out', 'b.crt']), 0);
    expect(mode(join(WORK, 'a.key'))).toBe(0o600);
    writeFileSync(join(WORK, 'secret.yaml'), secretYaml('db', 'prod', { password: `${MARKER}-seal`, username: 'admin' }));
    expectExit(cli('seal', ['seal', '--cert', 'a.crt', '-f', 'secret.yaml', '-o', 'sealed.yaml']), 0);
    expect(findLeaks(new Map([['sealed.yaml', readFileSync(join(WORK, 'sealed.yaml'), 'utf8')]]), NEEDLES)).toEqual([]);
    const failing: [string, string, string[]][] = [
      ['seal: bad key name', secretYaml('db', 'prod', { 'bad key': MARKER }), []],
      ['seal: bad base64', `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\ndata: {k: "${MARKER}!!"}\n`, []],
      ['seal: duplicate key', `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  k: ${MARKER}\n  k: ${MARKER}\n`, []],
      ['seal: collection key', `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  ? {k: ${MARKER}}\n  : x\n`, []],
      ['seal: not a v1 Secret', `apiVersion: v2\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {k: ${MARKER}}\n`, []],
      ['seal: over 1 MiB', secretYaml('db', 'prod', { a: `${MARKER}${'x'.repeat(1024 * 1024)}` }), []],
      ['seal: no namespace', secretYaml('db', '', { k: MARKER }).replace('  namespace: ""\n', ''), []],
      ['seal: bad key name, --debug', secretYaml('db', 'prod', { 'bad key': MARKER }), ['--debug']],
      ['seal: no recipient', secretYaml('db', 'prod', { k: MARKER }), ['--cert', 'missing.crt']],
    ];
    for (const [label, input, extra] of failing) {
      const r = cli(label, ['seal', '--cert', 'a.crt', ...extra], { input });
      expect(r.status, `${label}: ${r.stderr}`).not.toBe(0);
    }
    const literal = cli('seal: --from-literal with a bad key', ['seal', '--cert', 'a.crt', '--name', 'db', '--namespace', 'prod', '--from-literal', `bad key=${MARKER}`]);
    expect(literal.status).not.toBe(0);
  });

  it('unseals only into files of mode 0600, and prints no plaintext when unsealing fails', () => {
    const out = join(WORK, 'plain.yaml');
    expectExit(cli('unseal -o', ['unseal', '--key', 'a.key', '-f', 'sealed.yaml', '-o', 'plain.yaml']), 0);
    expect(mode(out)).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toContain(Buffer.from(`${MARKER}-seal`).toString('base64'));
    // an existing, readable file is replaced by a private one
    writeFileSync(join(WORK, 'existing.yaml'), 'old\n');
    chmodSync(join(WORK, 'existing.yaml'), 0o644);
    expectExit(cli('unseal -o existing', ['unseal', '--key', 'a.key', '-f', 'sealed.yaml', '-o', 'existing.yaml', '--format', 'json']), 0);
    expect(mode(join(WORK, 'existing.yaml'))).toBe(0o600);
    // to stdout it is the user's choice; not part of the transcript
    expect(cli('unseal to stdout', ['unseal', '--key', 'a.key', '-f', 'sealed.yaml'], { plaintextOut: true }).stdout).toContain(Buffer.from(`${MARKER}-seal`).toString('base64'));

    const sealed = parse(readFileSync(join(WORK, 'sealed.yaml'), 'utf8')) as SealedObject;
    const variants: [string, SealedObject, string][] = [
      ['unseal: tampered', { ...sealed, spec: { ...sealed.spec, encryptedData: { ...sealed.spec.encryptedData, username: flipValueBit(sealed.spec.encryptedData.username ?? '') } } }, 'a.key'],
      ['unseal: moved', { ...sealed, metadata: { ...sealed.metadata, namespace: 'staging' } }, 'a.key'],
      ['unseal: wrong key', sealed, 'b.key'],
    ];
    for (const [label, doc, key] of variants) {
      for (const debug of [[], ['--debug']]) {
        writeFileSync(join(WORK, 'variant.yaml'), stringify(doc));
        const r = cli(`${label} ${debug.join('')}`, ['unseal', ...debug, '--key', key, '-f', 'variant.yaml', '-o', 'variant.out.yaml']);
        expect(r.status).not.toBe(0);
        expect(existsSync(join(WORK, 'variant.out.yaml'))).toBe(false);
      }
    }
  });

  it('merges and rotates to a new data key without writing plaintext anywhere but the intended file', () => {
    expectExit(cli('merge', ['seal', '--cert', 'a.crt', '--merge-into', 'sealed.yaml'], { input: secretYaml('db', 'prod', { extra: `${MARKER}-merge` }) }), 0);
    const failMerge = cli('merge: other secret', ['seal', '--cert', 'a.crt', '--merge-into', 'sealed.yaml'], { input: secretYaml('other', 'prod', { extra: `${MARKER}-merge` }) });
    expect(failMerge.status).not.toBe(0);
    expectExit(cli('rotate --new-data-key', ['rotate', '--new-data-key', '--key', 'a.key', '--to-cert', 'a.crt', 'sealed.yaml']), 0);
    const failRotate = cli('rotate: wrong key', ['rotate', '--new-data-key', '--key', 'b.key', '--to-cert', 'a.crt', 'sealed.yaml']);
    expect(failRotate.status).not.toBe(0);
    expect(findLeaks(new Map([['sealed.yaml', readFileSync(join(WORK, 'sealed.yaml'), 'utf8')]]), NEEDLES)).toEqual([]);
    const back = cli('unseal after merge and rotate', ['unseal', '--key', 'a.key', '-f', 'sealed.yaml', '--format', 'json'], { plaintextOut: true });
    const data = (JSON.parse(back.stdout) as { data: Record<string, string> }).data;
    expect(Buffer.from(data.extra ?? '', 'base64').toString()).toBe(`${MARKER}-merge`);
  });

  it('edits through a private file (0600 in a 0700 folder) that is gone afterwards, also when the editor fails or sealbox is stopped', async () => {
    const log = join(WORK, 'editor.json');
    const editorEnv = (action: string): Record<string, string> => ({ EDITOR: `${process.execPath} ${FAKE_EDITOR}`, SEALBOX_FAKE_EDITOR: action, SEALBOX_FAKE_EDITOR_LOG: log });
    expectExit(cli('edit', ['edit', '--key', 'a.key', 'sealed.yaml'], { env: editorEnv(`replace:${MARKER}-seal:${MARKER}-edited`) }), 0);
    const seen = JSON.parse(readFileSync(log, 'utf8')) as { file: string; fileMode: number; dirMode: number };
    expect({ fileMode: seen.fileMode, dirMode: seen.dirMode, inScratch: seen.file.startsWith(SCRATCH) }).toEqual({ fileMode: 0o600, dirMode: 0o700, inScratch: true });
    expect(existsSync(seen.file)).toBe(false);
    expect(findLeaks(new Map([['sealed.yaml', readFileSync(join(WORK, 'sealed.yaml'), 'utf8')]]), NEEDLES)).toEqual([]);
    const after = cli('unseal after edit', ['unseal', '--key', 'a.key', '-f', 'sealed.yaml', '--format', 'json'], { plaintextOut: true });
    expect(Buffer.from((JSON.parse(after.stdout) as { data: Record<string, string> }).data.password ?? '', 'base64').toString()).toBe(`${MARKER}-edited`);

    const failed = cli('edit: editor fails', ['edit', '--key', 'a.key', 'sealed.yaml'], { env: editorEnv('fail') });
    expect(failed.status).not.toBe(0);
    expect(existsSync((JSON.parse(readFileSync(log, 'utf8')) as { file: string }).file)).toBe(false);

    // stopped with SIGTERM while the editor is open
    rmSync(log, { force: true });
    const child = spawnSealbox(['edit', '--key', 'a.key', 'sealed.yaml'], { cwd: WORK, env: editorEnv('hang') });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    const open = await eventually('the editor to have the file', () => Promise.resolve(existsSync(log) ? JSON.parse(readFileSync(log, 'utf8')) as { file: string } : undefined), 30_000, 50);
    expect(existsSync(open.file)).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('close', r));
    transcript.set('edit: SIGTERM: stderr', stderr);
    expect(code).toBe(143);
    expect(existsSync(open.file)).toBe(false);
    expect(readdirSync(SCRATCH).filter((f) => f.startsWith('sealbox-edit-'))).toEqual([]);
  });
});

describe('the controller with a marker plaintext', () => {
  it('unseals it into the Secret, and reports every failure reason without it', async () => {
    const [ns = '', other = ''] = env.namespaces;
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const cert = await fetchCert(ctl.url);
    const data = (what: string): Record<string, string> => ({ 'a-marker': `${MARKER}-${what}`, 'z-other': `${MARKER}-${what}-2` });

    await createSealed(ns, await seal(cert, { name: 'ok', namespace: ns, data: data('ok') }));
    expect(secretText(await waitForSecret(ns, 'ok'))['a-marker']).toBe(`${MARKER}-ok`);

    const invalid = await seal(cert, { name: 'invalid', namespace: ns, data: data('invalid') });
    invalid.spec.encryptedData['z-other'] = `${(invalid.spec.encryptedData['z-other'] ?? '').slice(0, -4)}AB==`;
    const tampered = await seal(cert, { name: 'tampered', namespace: ns, data: data('tampered') });
    tampered.spec.encryptedData['z-other'] = flipValueBit(tampered.spec.encryptedData['z-other'] ?? '');
    const foreign = await generateSealingKey({ bits: 2048, commonName: 'another-cluster' });
    const kms = sealedManifest(await sealSecret({ name: 'kms', namespace: ns, type: 'Opaque', labels: {}, annotations: {}, data: new Map(Object.entries(data('kms')).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))])) }, { scope: 'strict', wrappers: [new LocalKey('hygiene')] })) as unknown as SealedObject;
    await kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: ns, body: kubeObject<k8s.V1Secret>({ metadata: { name: 'not-owned' }, stringData: { unrelated: 'x' } }) });
    const cases: [string, string, SealedObject][] = [
      ['invalid', 'InvalidSealedSecret', invalid],
      ['moved', 'ScopeMismatch', await seal(cert, { name: 'moved', namespace: other, data: data('moved') })],
      ['no-key', 'NoKey', await seal(foreign.certificatePem, { name: 'no-key', namespace: ns, data: data('no-key') })],
      ['tampered', 'Tampered', tampered],
      ['kms', 'ProviderUnavailable', kms],
      ['not-owned', 'SecretNotOwned', await seal(cert, { name: 'not-owned', namespace: ns, data: data('not-owned') })],
      ['api-error', 'ApiError', await seal(cert, { name: 'api-error', namespace: ns, labels: { 'not a valid label key!': 'x' }, data: data('api-error') })],
    ];
    for (const [name, , obj] of cases) await createSealed(ns, { ...obj, metadata: { ...obj.metadata, name } });
    for (const [name, reason] of cases) {
      const o = await waitForReady(ns, name, 'False', 60_000);
      expect({ name, reason: o.status?.conditions?.find((c) => c.type === 'Ready')?.reason }).toEqual({ name, reason });
      await eventually(`a ${reason} event on ${name}`, async () => (await eventsFor(ns, name)).find((e) => e.reason === reason), 20_000);
      expect(await readSecret(ns, name).then((s) => (s === undefined || name === 'not-owned' ? undefined : s))).toBeUndefined();
    }
    // a re-wrap request reaches the same unsealing code through HTTP
    const rewrap = await fetch(`${ctl.url}/v1/rewrap`, { method: 'POST', body: JSON.stringify(tampered) });
    expect(rewrap.status).toBe(422);
    transcript.set('POST /v1/rewrap (tampered)', await rewrap.text());
    const ok = await fetch(`${ctl.url}/v1/rewrap`, { method: 'POST', body: JSON.stringify(await seal(cert, { name: 'db', namespace: ns, data: data('rewrap') })) });
    expect(ok.status).toBe(200);
    transcript.set('POST /v1/rewrap (ok)', await ok.text());
    // and `sealbox reseal` of a file sealed for another cluster fails without it
    writeFileSync(join(WORK, 'foreign.yaml'), stringify(await seal(foreign.certificatePem, { name: 'db', namespace: ns, data: data('reseal') })));
    expect(cli('reseal: foreign', ['reseal', '--controller-url', ctl.url, 'foreign.yaml']).status).toBe(5);
  }, 180_000);
});

describe('after every path', () => {
  it('finds the plaintext in no log, event, status, metric, CLI output or temporary file', async () => {
    const ctl = env.controllers[0];
    if (ctl === undefined) throw new Error('no controller');
    const haystacks = new Map<string, string>(transcript);
    for (const f of filesUnder(SCRATCH)) haystacks.set(`file ${f.path}`, f.text);
    for (const c of env.controllers) haystacks.set(`controller log ${c.name}`, c.log());
    haystacks.set('/metrics', await scrape(ctl.url));
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    for (const ns of [...env.namespaces, env.controllerNamespace]) {
      haystacks.set(`events in ${ns}`, JSON.stringify((await core.listNamespacedEvent({ namespace: ns })).items));
      haystacks.set(`sealed resources in ${ns}`, JSON.stringify(await custom.listNamespacedCustomObject({ group: 'sealbox.dev', version: 'v1', plural: 'sealedsecrets', namespace: ns })));
    }
    // the searched places really hold this run's activity, so a miss means no leak
    expect(haystacks.get(`controller log ${ctl.name}`)).toContain('"reason":"Tampered"');
    expect(haystacks.get(`events in ${env.namespace}`)).toContain('ProviderUnavailable');
    expect([...haystacks.keys()].some((k) => k.startsWith(`file ${SCRATCH}`) && k.endsWith('.log'))).toBe(true);
    expect(transcript.size).toBeGreaterThan(25);
    expect(findLeaks(haystacks, NEEDLES)).toEqual([]);
    // the only plaintext files are the ones unseal -o wrote on purpose, all 0600
    const plaintextFiles = filesUnder(WORK).filter((f) => NEEDLES.some((n) => f.text.includes(n))).map((f) => f.path.slice(WORK.length + 1)).sort();
    expect(plaintextFiles).toEqual(['existing.yaml', 'plain.yaml', 'secret.yaml'].sort());
    for (const f of ['existing.yaml', 'plain.yaml']) expect(mode(join(WORK, f))).toBe(0o600);
    process.stderr.write(`hygiene: ${haystacks.size} places searched for ${NEEDLES.length} forms of the plaintext (${transcript.size} CLI outputs and HTTP answers, ${filesUnder(SCRATCH).length} temporary files); none found\n`);
  });
});
