/**
 * `sealbox rotate` against moto and the Azure Key Vault peer: rotation runs
 * over folders, interrupted runs, Key Vault key versions, new data keys.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KeyUnwrapper, KeyWrapper } from '../../src/crypto/types.js';
import { parseSealedSecret, sealedManifest } from '../../src/format/sealed.js';
import type { SealedSecret } from '../../src/format/sealed.js';
import { sealSecret, unsealSealedSecret } from '../../src/format/seal.js';
import { stringifyDocuments } from '../../src/format/yaml.js';
import { AwsKmsKey } from '../../src/keys/aws-kms.js';
import { azureKvKeyFromSpec } from '../../src/keys/azure-kv.js';
import { KmsStanzaUnwrapper } from '../../src/keys/kms-unwrapper.js';
import { rotateSealed } from '../../src/format/rotate.js';
import { reEncryptVia, resolveTarget } from '../../src/keys/rotation.js';
import { keygen, sealbox, spawnSealbox, tempDir } from '../helpers/cli.js';
import { kmsPeer } from '../peers/kms-context.js';
import { awsClient, kmsEnv, newAwsKey, newAzureKeyVersion } from '../peers/kms-cli.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => { ({ dir, cleanup } = tempDir('kms-rotate')); });
afterAll(() => { cleanup(); });

const awsKey = (arn: string): AwsKmsKey => new AwsKmsKey({ client: awsClient(), keyId: arn });

async function azureKey(spec: string): Promise<KeyWrapper & KeyUnwrapper> {
  const peer = kmsPeer('azure');
  return azureKvKeyFromSpec(`azure:${spec}`, {
    credential: { getToken: () => Promise.resolve({ token: peer.token ?? 'test', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    caPem: readFileSync(peer.caFile ?? '', 'utf8'),
    disableChallengeResourceVerification: true,
  });
}

/** Seals `count` secrets (secret-000.yaml …) into `folder` in-process, for the given recipients. */
async function sealFolder(folder: string, count: number, wrappers: readonly KeyWrapper[]): Promise<void> {
  mkdirSync(folder, { recursive: true });
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const name = `secret-${String(i).padStart(3, '0')}`;
    const data = new Map([['password', new Uint8Array(Buffer.from(`pw-${String(i)}`))], ['user', new Uint8Array(Buffer.from('admin'))]]);
    const s = await sealSecret({ name, namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data }, { scope: 'strict', wrappers });
    writeFileSync(join(folder, `${name}.yaml`), stringifyDocuments([sealedManifest(s)], 'yaml'));
  }));
}

function readSealed(file: string): SealedSecret {
  return parseSealedSecret(parse(readFileSync(file, 'utf8')), file);
}

/** Unseals a file with only the stanzas of `keep` (each recipient alone must do). */
async function unsealWithOnly(file: string, unwrapper: KeyUnwrapper, keep: (id: string) => boolean): Promise<string> {
  const s = readSealed(file);
  const only = { ...s, dataKeys: s.dataKeys.map((g) => ({ ...g, recipients: g.recipients.filter((r) => keep(r.id)) })) };
  const out = await unsealSealedSecret(only, [unwrapper], file);
  return Buffer.from(out.data.get('password') ?? []).toString();
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' });
}

function files(folder: string): string[] {
  return readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(folder, f));
}

/** Every added or removed line of `git diff`, which must all be lines of a recipients block. */
function diffLines(cwd: string): { added: string[]; removed: string[] } {
  const lines = git(cwd, 'diff', '-U0', '--no-color').split('\n').filter((l) => /^[+-](?![+-])/.test(l));
  return { added: lines.filter((l) => l.startsWith('+')), removed: lines.filter((l) => l.startsWith('-')) };
}
const STANZA_LINE = /^[+-] {8}(- type: (aws-kms|azure-kv|cert)| {2}id: \S+| {2}wrapped: [A-Za-z0-9+/=]+)$/;

describe('sealbox rotate', () => {
  it('rotates 200 sealed files to a Key Vault key: each unseals with it alone, only recipients blocks change, a second run changes nothing', async () => {
    const arn = await newAwsKey();
    const azure = await newAzureKeyVersion();
    const repo = join(dir, 'two-hundred');
    await sealFolder(repo, 200, [awsKey(arn)]);
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'sealed');

    const first = sealbox(['rotate', '.', '--to-kms', `azure:${azure.versionless}`, '--output', 'json'], { cwd: repo, env: kmsEnv() });

    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect((JSON.parse(first.stdout) as { summary: unknown }).summary).toMatchObject({ sealedFiles: 200, rotated: 200, failed: 0 });
    const { added, removed } = diffLines(repo);
    expect(removed).toEqual([]);
    expect(added).toHaveLength(600);
    for (const l of added) expect(l).toMatch(STANZA_LINE);
    const key = await azureKey(azure.versionless);
    const passwords = await Promise.all(files(repo).map((f) => unsealWithOnly(f, key, (id) => id === azure.id)));
    expect(passwords).toEqual(Array.from({ length: 200 }, (_, i) => `pw-${String(i)}`));
    git(repo, 'commit', '-q', '-am', 'rotated');

    const second = sealbox(['rotate', '.', '--to-kms', `azure:${azure.versionless}`], { cwd: repo, env: kmsEnv() });

    expect(second.status).toBe(0);
    expect(second.stderr).toContain('0 rotated, 200 unchanged of 200 sealed file(s)');
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('leaves every file old or new when killed midway, and a re-run finishes the job', async () => {
    const arn = await newAwsKey();
    const target = await newAwsKey();
    const folder = join(dir, 'killed');
    await sealFolder(folder, 200, [awsKey(arn)]);
    const originals = new Map(files(folder).map((f) => [f, readFileSync(f, 'utf8')]));

    const child = spawnSealbox(['rotate', folder, '--to-kms', `aws:${target}`, '--remove-recipient', `aws:${arn}`, '--concurrency', '2'], { env: kmsEnv() });
    // rotate lists files only at the end: watch the files change on disk instead
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const rotated = [...originals].filter(([f, before]) => readFileSync(f, 'utf8') !== before).length;
        if (rotated >= 20 && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 20);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
    });

    expect(child.signalCode).toBe('SIGKILL');
    let done = 0;
    for (const [f, before] of originals) {
      const now = readFileSync(f, 'utf8');
      const ids = readSealed(f).dataKeys[0]?.recipients.map((r) => r.id);
      if (now === before) continue;
      done++;
      expect(ids).toEqual([target]);
    }
    expect(done).toBeGreaterThanOrEqual(20);
    expect(done).toBeLessThan(200);

    const rerun = sealbox(['rotate', folder, '--to-kms', `aws:${target}`, '--remove-recipient', `aws:${arn}`], { env: kmsEnv() });

    expect(rerun.status).toBe(0);
    expect(rerun.stderr).toContain(`${String(200 - done)} rotated, ${String(done)} unchanged of 200 sealed file(s)`);
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const key = awsKey(target);
    const passwords = await Promise.all(files(folder).map((f) => unsealWithOnly(f, key, () => true)));
    expect(passwords).toEqual(Array.from({ length: 200 }, (_, i) => `pw-${String(i)}`));
  });

  it('moves files to a new Key Vault key version, and files on the old version keep unsealing until then', async () => {
    const v1 = await newAzureKeyVersion();
    const folder = join(dir, 'azure-versions');
    await sealFolder(folder, 3, [await azureKey(v1.versionless)]);
    const v2 = await newAzureKeyVersion(v1.versionless.split('/').pop());
    const before = files(folder).map((f) => readFileSync(f, 'utf8'));

    const check = sealbox(['rotate', folder, '--to-kms', `azure:${v1.versionless}`, '--check'], { env: kmsEnv() });
    const stillOld = sealbox(['unseal', '-f', files(folder)[0] ?? ''], { env: kmsEnv() });
    const run = sealbox(['rotate', folder, '--to-kms', `azure:${v1.versionless}`], { env: kmsEnv() });
    const after = sealbox(['rotate', folder, '--to-kms', `azure:${v1.versionless}`, '--check'], { env: kmsEnv() });

    expect(check.status).toBe(10);
    expect(check.stderr).toContain('3 need rotation');
    expect(stillOld.status).toBe(0);
    expect(stillOld.stdout).toContain(Buffer.from('pw-0').toString('base64'));
    expect(files(folder).map((f) => readFileSync(f, 'utf8'))).not.toEqual(before);
    expect(run.status).toBe(0);
    for (const f of files(folder)) expect(readSealed(f).dataKeys[0]?.recipients.map((r) => r.id)).toEqual([v2.id]);
    expect(sealbox(['unseal', '-f', files(folder)[2] ?? ''], { env: kmsEnv() }).stdout).toContain(Buffer.from('pw-2').toString('base64'));
    expect(after.status).toBe(0);
  });

  it('rotates to the recipients of .sealbox.yaml with no flags, and --check then passes', async () => {
    const arn = await newAwsKey();
    const azure = await newAzureKeyVersion();
    const repo = join(dir, 'configured');
    await sealFolder(join(repo, 'apps'), 2, [awsKey(arn)]);
    // a repository: its root's config applies to the folders below it
    mkdirSync(join(repo, '.git'));
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(repo, '.sealbox.yaml'), `rules:\n  - path: apps/**\n    recipients: ["aws:${arn}", "azure:${azure.versionless}"]\n`);

    const check = sealbox(['rotate', '--check'], { cwd: repo, env: kmsEnv() });
    const run = sealbox(['rotate'], { cwd: repo, env: kmsEnv() });
    const again = sealbox(['rotate', '--check'], { cwd: repo, env: kmsEnv() });

    expect(check.status).toBe(10);
    expect(run.status).toBe(0);
    expect(again.status).toBe(0);
    for (const f of files(join(repo, 'apps'))) expect(readSealed(f).dataKeys[0]?.recipients.map((r) => r.id)).toEqual([arn, azure.id]);
  });

  it('seals every value again under a fresh data key with --new-data-key, and needs the certificate of a kept cert recipient', async () => {
    const arn = await newAwsKey();
    const cert = keygen(dir, 'newkey');
    const folder = join(dir, 'new-data-key');
    mkdirSync(folder);
    const file = join(folder, 'db.yaml');
    writeFileSync(join(folder, 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2}\n');
    expect(sealbox(['seal', '-f', join(folder, 'secret.yaml'), '--cert', cert.cert, '--kms', `aws:${arn}`, '-o', file], { env: kmsEnv() }).status).toBe(0);
    const before = readSealed(file);

    const refused = sealbox(['rotate', file, '--new-data-key'], { env: kmsEnv() });
    const run = sealbox(['rotate', file, '--new-data-key', '--to-cert', cert.cert, '--output', 'json'], { env: kmsEnv() });

    expect(refused.status).toBe(3); // INPUT
    expect(refused.stderr).toContain(`cert:${before.dataKeys[0]?.recipients[0]?.id.slice(0, 12) ?? ''} is not known here`);
    expect(run.status).toBe(0);
    const after = readSealed(file);
    expect(after.dataKeys[0]?.id).not.toBe(before.dataKeys[0]?.id);
    expect(after.encryptedData.get('password')?.sealed).not.toEqual(before.encryptedData.get('password')?.sealed);
    expect(after.dataKeys[0]?.recipients.map((r) => r.type).sort()).toEqual(['aws-kms', 'cert']);
    const viaCert = sealbox(['unseal', '-f', file, '--key', cert.key], { env: kmsEnv() });
    expect(viaCert.stdout).toContain(Buffer.from('hunter2').toString('base64'));
  });

  it('writes nothing with --dry-run, and refuses to remove the last recipient of a group', async () => {
    const arn = await newAwsKey();
    const folder = join(dir, 'dry');
    await sealFolder(folder, 2, [awsKey(arn)]);
    const copy = join(dir, 'dry-copy');
    cpSync(folder, copy, { recursive: true });

    const dry = sealbox(['rotate', folder, '--to-kms', `aws:${await newAwsKey()}`, '--dry-run'], { env: kmsEnv() });
    const lonely = sealbox(['rotate', folder, '--remove-recipient', `aws:${arn}`], { env: kmsEnv() });

    expect(dry.status).toBe(0);
    expect(dry.stderr).toContain('2 would need rotation');
    expect(lonely.status).toBe(3);
    expect(lonely.stderr).toContain('without recipients');
    for (const f of readdirSync(folder)) expect(readFileSync(join(folder, f), 'utf8')).toBe(readFileSync(join(copy, f), 'utf8'));
  });
});

describe('sealbox rotate on JSON files', () => {
  it('rotates a JSON sealed file (a v1 List of two resources) and keeps it JSON', async () => {
    const arn = await newAwsKey();
    const azure = await newAzureKeyVersion();
    const folder = join(dir, 'json');
    mkdirSync(folder);
    const input = join(folder, 'secrets.yaml');
    writeFileSync(input, [
      'apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: prod}\nstringData: {password: pa}\n',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: prod}\nstringData: {password: pb}\n',
    ].join('---\n'));
    const file = join(folder, 'sealed.json');
    expect(sealbox(['seal', '-f', input, '--kms', `aws:${arn}`, '--format', 'json', '-o', file], { env: kmsEnv() }).status).toBe(0);

    const r = sealbox(['rotate', file, '--to-kms', `azure:${azure.versionless}`], { env: kmsEnv() });

    expect(r.stderr).toContain('1 rotated');
    const list = JSON.parse(readFileSync(file, 'utf8')) as { kind: string; items: { spec: { dataKeys: { recipients: { id: string }[] }[] } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.spec.dataKeys[0]?.recipients.map((x) => x.id))).toEqual([[arn, azure.id], [arn, azure.id]]);
    const key = await azureKey(azure.versionless);
    const only = (i: number): SealedSecret => {
      const s = parseSealedSecret(list.items[i], file);
      return { ...s, dataKeys: s.dataKeys.map((g) => ({ ...g, recipients: g.recipients.filter((x) => x.id === azure.id) })) };
    };
    expect(Buffer.from((await unsealSealedSecret(only(1), [key], file)).data.get('password') ?? []).toString()).toBe('pb');
  });
});

describe('rotation with AWS ReEncrypt', () => {
  it('re-wraps an AWS stanza for another AWS key in the same region without any unwrapper (the data key stays in KMS)', async () => {
    const from = await newAwsKey();
    const to = await newAwsKey();
    const s = await sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['k', new Uint8Array([1, 2, 3])]]) }, { scope: 'strict', wrappers: [awsKey(from)] });
    const kms = new KmsStanzaUnwrapper({ options: { aws: { endpoint: kmsPeer('moto').endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } } });

    const { sealed } = await rotateSealed(s, [], { targets: [await resolveTarget(awsKey(to))], rewrap: reEncryptVia(kms, (r) => r.id === from) }, 'r');

    expect(sealed.dataKeys[0]?.recipients.map((r) => r.id)).toEqual([from, to]);
    const only = { ...sealed, dataKeys: sealed.dataKeys.map((g) => ({ ...g, recipients: g.recipients.filter((r) => r.id === to) })) };
    expect([...(await unsealSealedSecret(only, [awsKey(to)], 'r')).data.get('k') ?? []]).toEqual([1, 2, 3]);
  });

  it('re-encrypts only from a key the user named or removes, never from a stanza a Git writer added for their own key', async () => {
    const [from, to, evil] = [await newAwsKey(), await newAwsKey(), await newAwsKey()];
    const secret = (v: number): Parameters<typeof sealSecret>[0] => ({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['k', new Uint8Array([v])]]) });
    const s = await sealSecret(secret(1), { scope: 'strict', wrappers: [awsKey(from)] });
    // The writer's stanza wraps a data key of their choosing, for the same binding, and comes first.
    const forged = (await sealSecret(secret(2), { scope: 'strict', wrappers: [awsKey(evil)] })).dataKeys[0]?.recipients[0];
    if (forged === undefined) throw new Error('no stanza');
    const hostile = { ...s, dataKeys: s.dataKeys.map((g) => ({ ...g, recipients: [forged, ...g.recipients] })) };
    const kms = new KmsStanzaUnwrapper({ options: { aws: { endpoint: kmsPeer('moto').endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } } });
    const remove = (r: { id: string }): boolean => r.id === from;

    const { sealed } = await rotateSealed(hostile, [], { targets: [await resolveTarget(awsKey(to))], remove, rewrap: reEncryptVia(kms, remove) }, 'r');

    const only = { ...sealed, dataKeys: sealed.dataKeys.map((g) => ({ ...g, recipients: g.recipients.filter((r) => r.id === to) })) };
    expect([...(await unsealSealedSecret(only, [awsKey(to)], 'r')).data.get('k') ?? []]).toEqual([1]);
  });
});
