/**
 * `sealbox edit` against moto and the Azure Key Vault peer, with scripts as
 * $EDITOR: only changed values are sealed again, and the plaintext never
 * outlives the command.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { openValue } from '../../src/crypto/group.js';
import { bindingOf, mergeIntoSealed } from '../../src/format/seal.js';
import { parseSealedSecret, sealedManifest } from '../../src/format/sealed.js';
import { AwsKmsKey } from '../../src/keys/aws-kms.js';
import { CertRecipient } from '../../src/keys/cert.js';
import { keygen, sealbox, spawnSealbox, tempDir } from '../helpers/cli.js';
import { awsClient, kmsEnv, newAwsKey, newAzureKeyVersion } from '../peers/kms-cli.js';

interface Sealed {
  spec: { encryptedData: Record<string, string>; dataKeys: { group: string; commitment: string; binding: string; recipients: { type: string; id: string; wrapped: string }[] }[] };
}

let dir: string;
let cleanup: () => void;
beforeAll(() => { ({ dir, cleanup } = tempDir('kms-edit')); });
afterAll(() => { cleanup(); });

/** Writes an executable node script used as $EDITOR; it gets the file path as argv[2]. */
function editorScript(name: string, body: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, `#!${process.execPath}\nimport fs from 'node:fs';\nconst file = process.argv[2];\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Records where the plaintext was and its permissions, for the test to check after. */
const RECORD = (out: string): string =>
  `fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify({ file, dir: file.slice(0, file.lastIndexOf('/')), fileMode: fs.statSync(file).mode & 0o777, dirMode: fs.statSync(file.slice(0, file.lastIndexOf('/'))).mode & 0o777, text: fs.readFileSync(file, 'utf8') }));`;

function sealedFile(name: string, kms: string[]): string {
  const input = join(dir, `${name}.secret.yaml`);
  writeFileSync(input, 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {user: admin, password: hunter2, host: db.internal}\n');
  const out = join(dir, `${name}.yaml`);
  const r = sealbox(['seal', '-f', input, ...kms.flatMap((k) => ['--kms', k]), '-o', out], { env: kmsEnv() });
  if (r.status !== 0) throw new Error(r.stderr);
  return out;
}

function values(file: string, args: string[] = []): Record<string, string> {
  const r = sealbox(['unseal', '-f', file, ...args], { env: kmsEnv() });
  expect(r.status).toBe(0);
  const data = (parse(r.stdout) as { data: Record<string, string> }).data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

describe('sealbox edit', () => {
  it('re-seals only the values the editor changed or added, drops removed keys, and keeps every other line', async () => {
    const arn = await newAwsKey();
    const azure = await newAzureKeyVersion();
    const file = sealedFile('edit', [`aws:${arn}`, `azure:${azure.versionless}`]);
    const before = readFileSync(file, 'utf8');
    const old = parse(before) as Sealed;
    const record = join(dir, 'edit.record.json');
    const editor = editorScript('change', `${RECORD(record)}
let t = fs.readFileSync(file, 'utf8');
t = t.replace('password: hunter2', 'password: correct-horse').replace(/  user: admin\\n/, '').replace('stringData:\\n', 'stringData:\\n  token: t0k3n\\n');
fs.writeFileSync(file, t);`);

    const r = sealbox(['edit', file], { env: { ...kmsEnv(), EDITOR: editor } });

    expect(r.stderr).toBe('prod/db: changed password; added token; removed user\n');
    expect(r.status).toBe(0);
    const seen = JSON.parse(readFileSync(record, 'utf8')) as { file: string; dir: string; fileMode: number; dirMode: number; text: string };
    expect(seen.text).toContain('password: hunter2');
    expect([seen.fileMode, seen.dirMode]).toEqual([0o600, 0o700]);
    expect(existsSync(seen.dir)).toBe(false);
    const now = parse(readFileSync(file, 'utf8')) as Sealed;
    expect(now.spec.encryptedData.host).toBe(old.spec.encryptedData.host);
    expect(now.spec.encryptedData.password).not.toBe(old.spec.encryptedData.password);
    expect(Object.keys(now.spec.encryptedData).sort()).toEqual(['host', 'password', 'token']);
    // The old group stays for the unchanged value; the changed ones are in a new group for the same recipients.
    expect(now.spec.dataKeys[0]).toEqual(old.spec.dataKeys[0]);
    expect(now.spec.dataKeys).toHaveLength(2);
    expect(now.spec.dataKeys[1]?.recipients.map((r) => r.id)).toEqual(old.spec.dataKeys[0]?.recipients.map((r) => r.id));
    expect(now.spec.encryptedData.password?.split(':')[1]).toBe(now.spec.dataKeys[1]?.group);
    const removedLines = before.split('\n').filter((l) => !readFileSync(file, 'utf8').split('\n').includes(l));
    expect(removedLines.map((l) => l.trim().split(':')[0])).toEqual(['user', 'password']);
    expect(values(file)).toEqual({ host: 'db.internal', password: 'correct-horse', token: 't0k3n' });
  });

  it('writes nothing when the editor saves no change', async () => {
    const file = sealedFile('nochange', [`aws:${await newAwsKey()}`]);
    const before = readFileSync(file, 'utf8');

    const r = sealbox(['edit', file], { env: { ...kmsEnv(), EDITOR: editorScript('noop', '') } });

    expect(r.status).toBe(0);
    expect(r.stderr).toBe('no changes; nothing written\n');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('removes the private temporary folder and writes nothing when the editor fails', async () => {
    const file = sealedFile('fails', [`aws:${await newAwsKey()}`]);
    const before = readFileSync(file, 'utf8');
    const record = join(dir, 'fails.record.json');
    const editor = editorScript('fail', `${RECORD(record)}\nfs.writeFileSync(file, 'garbage');\nprocess.exit(3);`);

    const r = sealbox(['edit', file], { env: { ...kmsEnv(), EDITOR: editor } });

    expect(r.status).toBe(9);
    expect(r.stderr).toContain('exited with status 3; nothing was written');
    expect(existsSync((JSON.parse(readFileSync(record, 'utf8')) as { dir: string }).dir)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('removes the temporary folder when sealbox is terminated while the editor is open', async () => {
    const file = sealedFile('killed', [`aws:${await newAwsKey()}`]);
    const record = join(dir, 'killed.record.json');
    const editor = editorScript('slow', `${RECORD(record)}\nsetTimeout(() => {}, 60_000);`);

    const child = spawnSealbox(['edit', file], { env: { ...kmsEnv(), EDITOR: editor } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
    for (let i = 0; i < 100 && !existsSync(record); i++) await sleep(100);
    const seen = JSON.parse(readFileSync(record, 'utf8')) as { dir: string };
    expect(statSync(seen.dir).isDirectory()).toBe(true);
    child.kill('SIGTERM');

    expect(await exited).toBe(143);
    expect(existsSync(seen.dir)).toBe(false);
  });

  it('refuses an edit that renames the secret, keeping the file, and edits a cert-sealed file with --key', () => {
    const cert = keygen(dir, 'edit-cert');
    const input = join(dir, 'cert.secret.yaml');
    writeFileSync(input, 'apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: prod}\ndata: {blob: AP8A}\nstringData: {a: b}\n');
    const file = join(dir, 'cert.yaml');
    expect(sealbox(['seal', '-f', input, '--cert', cert.cert, '-o', file], { env: kmsEnv() }).status).toBe(0);
    const before = readFileSync(file, 'utf8');

    const renamed = sealbox(['edit', file, '--key', cert.key], { env: { ...kmsEnv(), EDITOR: editorScript('rename', "fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('name: app', 'name: other'));") } });
    // The binary value is shown base64 in data, the text one in stringData.
    const record = join(dir, 'binary.record.json');
    const edited = sealbox(['edit', file, '--key', cert.key], { env: { ...kmsEnv(), EDITOR: editorScript('binary', `${RECORD(record)}\nfs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('a: b', 'a: c'));`) } });

    expect(renamed.status).toBe(3);
    expect(renamed.stderr).toContain('only values can change');
    expect(edited.status).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toBe(before);
    expect((parse((JSON.parse(readFileSync(record, 'utf8')) as { text: string }).text) as object)).toMatchObject({ data: { blob: 'AP8A' }, stringData: { a: 'b' } });
    const unsealed = parse(sealbox(['unseal', '-f', file, '--key', cert.key], { env: kmsEnv() }).stdout) as { data: Record<string, string> };
    expect(unsealed.data).toEqual({ blob: 'AP8A', a: Buffer.from('c').toString('base64') });
  });

  it('seals an edited password under a fresh data key, so the author of an earlier merge, who knows his group\'s key, cannot read it', async () => {
    const cert = keygen(dir, 'attack-cert');
    const arn = await newAwsKey();
    const input = join(dir, 'attack.secret.yaml');
    writeFileSync(input, 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {user: admin, password: hunter2}\n');
    const file = join(dir, 'attack.yaml');
    expect(sealbox(['seal', '-f', input, '--cert', cert.cert, '--kms', `aws:${arn}`, '-o', file], { env: kmsEnv() }).status).toBe(0);
    // The attacker merges a value for the same recipients by hand, with a random source of his own: he knows that data key.
    const known = new Uint8Array(32).fill(0x42);
    let draws = 0;
    const random = (n: number): Uint8Array => (draws++ === 0 ? Uint8Array.from(known) : new Uint8Array(n).fill(draws));
    const wrappers = [CertRecipient.fromPem(readFileSync(cert.cert), 'cert'), new AwsKmsKey({ client: awsClient(), keyId: arn })];
    const merged = await mergeIntoSealed(parseSealedSecret(parse(readFileSync(file, 'utf8')), file), new Map([['note', new Uint8Array(Buffer.from('hello'))]]), { wrappers, random });
    writeFileSync(file, stringify(sealedManifest(merged)));

    // The key holder (KMS decrypt rights, the cluster's public certificate) rotates the password.
    const r = sealbox(['edit', file, '--cert', cert.cert], { env: { ...kmsEnv(), EDITOR: editorScript('rotate', "fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('password: hunter2', 'password: s3cret-rotated'));") } });

    expect(r.stderr).toBe('prod/db: changed password\n');
    expect(r.status).toBe(0);
    const now = parseSealedSecret(parse(readFileSync(file, 'utf8')), file);
    const password = now.encryptedData.get('password');
    if (password === undefined) throw new Error('no password');
    expect(password.groupId).not.toBe(merged.dataKeys[1]?.id);
    expect(openValue(known, bindingOf(now), 'password', password)).toMatch(/^(moved|tampered)$/);
    expect(values(file)).toEqual({ user: 'admin', password: 's3cret-rotated', note: 'hello' });
    expect(values(file, ['--key', cert.key]).password).toBe('s3cret-rotated');
  });

  it('refuses, before the editor opens, a file whose groups name different recipients, and one whose cert recipient it cannot wrap for', async () => {
    const cert = keygen(dir, 'ride-cert');
    const arn = await newAwsKey();
    const file = sealedFile('ride', [`aws:${arn}`]);
    const input = join(dir, 'ride.extra.yaml');
    writeFileSync(input, 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {extra: x}\n');
    // A group that a second key can open, added by hand (`--merge-into` now
    // refuses recipients the file does not have): an edit must not let that
    // key read the edited values.
    const extraOut = join(dir, 'ride.extra.sealed.yaml');
    expect(sealbox(['seal', '-f', input, '--kms', `aws:${arn}`, '--cert', cert.cert, '-o', extraOut], { env: kmsEnv() }).status).toBe(0);
    type Doc = { spec: { encryptedData: Record<string, string>; dataKeys: unknown[] } };
    const base = parse(readFileSync(file, 'utf8')) as Doc;
    const extra = parse(readFileSync(extraOut, 'utf8')) as Doc;
    base.spec.dataKeys.push(...extra.spec.dataKeys);
    Object.assign(base.spec.encryptedData, extra.spec.encryptedData);
    const mergedOut = join(dir, 'ride.merged.yaml');
    writeFileSync(mergedOut, stringify(base));
    const before = readFileSync(mergedOut, 'utf8');
    const record = join(dir, 'ride.record.json');
    const editor = editorScript('ride', `${RECORD(record)}\nfs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('password: hunter2', 'password: other'));`);

    const mixed = sealbox(['edit', mergedOut, '--cert', cert.cert], { env: { ...kmsEnv(), EDITOR: editor } });
    const certFile = join(dir, 'ride.cert-only.yaml');
    expect(sealbox(['seal', '-f', input, '--cert', cert.cert, '--kms', `aws:${arn}`, '-o', certFile], { env: kmsEnv() }).status).toBe(0);
    const record2 = join(dir, 'ride2.record.json');
    const noCert = sealbox(['edit', certFile], { env: { ...kmsEnv(), EDITOR: editorScript('ride2', RECORD(record2)) } });

    expect(mixed.status).toBe(3);
    expect(mixed.stderr).toContain('different recipients');
    expect(mixed.stderr).toContain('sealbox rotate');
    expect(existsSync(record)).toBe(false);
    expect(readFileSync(mergedOut, 'utf8')).toBe(before);
    expect(noCert.status).toBe(3);
    expect(noCert.stderr).toContain('is not known here; pass its certificate with --cert');
    expect(existsSync(record2)).toBe(false);
  });
});
