/**
 * `sealbox convert --from-sops`: files encrypted by the real sops v3.13.3
 * (bench/peers.sh) for a key in moto become sealbox SealedSecrets for the same
 * key, which `sealbox unseal` opens to what `sops decrypt` gives; tampered,
 * age-only and Shamir files are refused; no plaintext reaches the disk.
 *
 * Azure Key Vault: the real sops cannot talk to the Key Vault stand-in. Its
 * Go SDK (azkeys, internal/challenge_policy.go) requires the vault's host to
 * be a subdomain of the resource its 401 challenge names, and sops gives no
 * way to set DisableChallengeResourceVerification; the stand-in listens on
 * 127.0.0.1, which is a subdomain of nothing, and no DNS name for it can be
 * made here without editing /etc/hosts. So the Azure file is written by the
 * test's own sops writer (test/helpers/sops-writer.ts), its data key
 * encrypted by the stand-in's real `encrypt` (RSA-OAEP-256, as sops does it).
 */
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { sealbox, tempDir } from '../helpers/cli.js';
import { writeSopsYaml } from '../helpers/sops-writer.js';
import { kmsPeer } from '../peers/kms-context.js';
import { azureKeys, kmsEnv, newAwsKey } from '../peers/kms-cli.js';
import { sopsDecrypt, sopsEncrypt } from '../peers/sops.js';

const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const TOKEN = `tok-${randomBytes(9).toString('hex')}`;
const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db}
  annotations: {team: payments}
type: Opaque
immutable: false
data:
  token: ${Buffer.from(TOKEN).toString('base64')}
stringData:
  password: ${PASSWORD}
  user: admin
`;

let dir: string;
let cleanup: () => void;
let tmp: string;
let arn: string;
beforeAll(async () => {
  ({ dir, cleanup } = tempDir('convert-sops'));
  tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  arn = await newAwsKey();
});
afterAll(() => { cleanup(); });

/** kmsEnv() with the CLI's temporary files kept in the test folder, so the plaintext scan sees them. */
const env = (): NodeJS.ProcessEnv => ({ ...kmsEnv(), TMPDIR: tmp });

/** Writes `text` and encrypts it in place with the real sops for the moto key. */
function sopsFile(name: string, text: string, o: Parameters<typeof sopsEncrypt>[3] = {}): string {
  const plain = join(dir, `${name}.plain.yaml`);
  writeFileSync(plain, text);
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, sopsEncrypt(plain, arn, env(), o));
  return path;
}

/** `sealbox unseal` of a converted file: name → value of each Secret. */
function unsealed(path: string): Record<string, Record<string, string>> {
  const r = sealbox(['unseal', '-f', path, '--decode'], { env: env() });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return Object.fromEntries(parseAllDocuments(r.stdout).map((d) => {
    const s = d.toJS() as { metadata: { name: string }; stringData: Record<string, string> };
    return [s.metadata.name, s.stringData];
  }));
}

/** Every file under `root` that holds one of `needles`. */
function filesHolding(root: string, needles: readonly string[]): string[] {
  const hits: string[] = [];
  for (const e of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const p = join(root, e);
    if (!statSync(p).isFile() || p.endsWith('.plain.yaml')) continue;
    const text = readFileSync(p, 'latin1');
    if (needles.some((n) => text.includes(n) || text.includes(Buffer.from(n).toString('base64')))) hits.push(p);
  }
  return hits;
}

describe('sealbox convert --from-sops (AWS KMS, real sops)', () => {
  it('converts a Secret sops encrypted with --encrypted-regex ^(data|stringData)$ into one sealed for the same key, with the same values', () => {
    const path = sopsFile('regex', SECRET, { encryptedRegex: '^(data|stringData)$' });
    const want = parse(sopsDecrypt(path, env())) as { stringData: Record<string, string> };
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const sealed = parse(readFileSync(path, 'utf8')) as { kind: string; metadata: { name: string; namespace: string }; spec: { dataKeys: { recipients: { type: string; id: string }[] }[]; template: { metadata?: { labels?: Record<string, string> } } } };
    expect(sealed.kind).toBe('SealedSecret');
    expect(sealed.metadata).toMatchObject({ name: 'db', namespace: 'prod' });
    expect(sealed.spec.dataKeys.flatMap((g) => g.recipients)).toEqual([expect.objectContaining({ type: 'aws-kms', id: arn })]);
    expect(unsealed(path)).toEqual({ db: { token: TOKEN, password: want.stringData.password, user: 'admin' } });
    expect(want.stringData.password).toBe(PASSWORD);
  });

  it('converts a two-Secret file encrypted with sops\' default rule (every value, metadata included)', () => {
    const second = SECRET.replace('name: db', 'name: cache').replace(PASSWORD, 'other');
    const path = sopsFile('default', `${SECRET}---\n${second}`);
    expect(readFileSync(path, 'utf8')).toContain('name: ENC[AES256_GCM');
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(unsealed(path)).toEqual({ db: { token: TOKEN, password: PASSWORD, user: 'admin' }, cache: { token: TOKEN, password: 'other', user: 'admin' } });
  });

  it.each([
    ['--unencrypted-regex', ['--unencrypted-regex', '^(apiVersion|kind|metadata|type|immutable)$']],
    ['--encrypted-suffix', ['--encrypted-suffix', 'Data']],
    ['--encryption-context (KMS context)', ['--encryption-context', 'team:payments,env:prod']],
  ])('reads a file sops encrypted with %s', (name, extra) => {
    const path = sopsFile(`rule-${name.slice(2, 12)}`, SECRET, { extra });
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(unsealed(path)).toEqual({ db: { token: TOKEN, password: PASSWORD, user: 'admin' } });
  });

  it('reads a file sops encrypted with mac_only_encrypted (a .sops.yaml setting)', () => {
    const config = join(dir, 'mac-only.sops.yaml');
    writeFileSync(config, `creation_rules:\n  - kms: ${arn}\n    mac_only_encrypted: true\n    encrypted_regex: '^(data|stringData)$'\n`);
    const plain = join(dir, 'mac-only.plain.yaml');
    writeFileSync(plain, SECRET);
    const path = join(dir, 'mac-only.yaml');
    writeFileSync(path, sopsEncrypt(plain, undefined, env(), { config }));
    expect(readFileSync(path, 'utf8')).toContain('mac_only_encrypted: true');
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(unsealed(path)).toEqual({ db: { token: TOKEN, password: PASSWORD, user: 'admin' } });
  });

  it('leaves no plaintext on disk: the converted files and the CLI\'s temporary folder hold no value', () => {
    const folder = join(dir, 'scan');
    mkdirSync(folder);
    const path = sopsFile('scan/one', SECRET, { encryptedRegex: '^(data|stringData)$' });
    const r = sealbox(['convert', '--from-sops', folder], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain('kind: SealedSecret');
    expect(filesHolding(dir, [PASSWORD, TOKEN])).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('refuses a file whose encrypted value was moved to another key, and leaves it as it was', () => {
    const path = sopsFile('moved', SECRET, { encryptedRegex: '^(data|stringData)$' });
    const text = readFileSync(path, 'utf8');
    const doc = parse(text) as { stringData: Record<string, string> };
    const swapped = text.replace(doc.stringData.password ?? '', 'SWAP').replace(doc.stringData.user ?? '', doc.stringData.password ?? '').replace('SWAP', doc.stringData.user ?? '');
    writeFileSync(path, swapped);
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/value at "stringData:(user|password):" does not authenticate/);
    expect(readFileSync(path, 'utf8')).toBe(swapped);
  });

  it('refuses a file with a value removed (the MAC no longer matches)', () => {
    const path = sopsFile('removed', SECRET, { encryptedRegex: '^(data|stringData)$' });
    const text = readFileSync(path, 'utf8').replace(/^ {4}user: .*\n/m, '');
    writeFileSync(path, text);
    expect(sopsDecryptFails(path)).toBe(true); // sops itself refuses it too
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.status).toBe(6);
    expect(r.stderr).toContain('MAC does not match');
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('refuses an age-encrypted file, saying what to do', () => {
    const age = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
    const plain = join(dir, 'age.plain.yaml');
    writeFileSync(plain, SECRET);
    const path = join(dir, 'age.yaml');
    writeFileSync(path, sopsEncrypt(plain, undefined, env(), { extra: ['--age', age] }));
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('encrypted for age, not for an AWS KMS or Azure Key Vault key');
    expect(r.stderr).toContain('sealbox seal');
  });

  it('--dry-run writes nothing and --check exits 10 while a sops file is left', () => {
    const path = sopsFile('dry', SECRET);
    const before = readFileSync(path, 'utf8');
    const dry = sealbox(['convert', '--from-sops', '--dry-run', path], { env: env() });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would convert');
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(sealbox(['convert', '--from-sops', '--check', path], { env: env() }).status).toBe(10);
  });
});

describe('sealbox convert --from-sops (Azure Key Vault, a sops file made by the test\'s writer)', () => {
  it('converts a file whose data key the vault encrypted (RSA-OAEP-256) into one sealed for that key version', async () => {
    // sops' docs create the key with --ops encrypt decrypt; sealbox wraps with wrapKey/unwrapKey (docs/MIGRATION.md)
    const name = `sops-${randomBytes(6).toString('hex')}`;
    const created = await azureKeys().createRsaKey(name, { keySize: 2048, keyOps: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] });
    const id = created.id ?? '';
    const version = id.split('/').pop() ?? '';
    const vaultUrl = kmsPeer('azure').endpoint;
    const dataKey = randomBytes(32);
    const crypto = azureKeys().getCryptographyClient(name, { keyVersion: version });
    const enc = Buffer.from((await crypto.encrypt({ algorithm: 'RSA-OAEP-256', plaintext: dataKey })).result).toString('base64url');
    const path = join(dir, 'azure.yaml');
    const doc = parse(SECRET) as Record<string, unknown>;
    writeFileSync(path, writeSopsYaml([doc], {
      dataKey, encryptedRegex: '^(data|stringData)$',
      keys: { azure_kv: [{ vault_url: vaultUrl, name, version, created_at: '2026-01-01T00:00:00Z', enc }] },
    }));
    const r = sealbox(['convert', '--from-sops', path], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const sealed = parse(readFileSync(path, 'utf8')) as { spec: { dataKeys: { recipients: { type: string; id: string }[] }[] } };
    expect(sealed.spec.dataKeys.flatMap((g) => g.recipients)).toEqual([expect.objectContaining({ type: 'azure-kv', id })]);
    expect(unsealed(path)).toEqual({ db: { token: TOKEN, password: PASSWORD, user: 'admin' } });
  });
});

function sopsDecryptFails(path: string): boolean {
  try {
    sopsDecrypt(path, env());
    return false;
  } catch {
    return true;
  }
}
