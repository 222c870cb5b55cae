/**
 * `sealbox seal --kms`, `.sealbox.yaml` and `sealbox unseal` with KMS
 * recipients: the built CLI against moto and the Azure Key Vault peer, with
 * the credentials a user would have (AWS default chain; Azure
 * DefaultAzureCredential through the peer's managed-identity endpoint).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { keygen, sealbox, tempDir } from '../helpers/cli.js';
import { kmsEnv, newAwsKey, newAzureKeyVersion } from '../peers/kms-cli.js';

interface Stanza { type: string; id: string; wrapped: string }
interface Sealed {
  metadata: { name: string; namespace?: string };
  spec: { scope: string; encryptedData: Record<string, string>; dataKeys: { group: string; binding: string; recipients: Stanza[] }[] };
}

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2, user: admin}\n';

let dir: string;
let cleanup: () => void;
let cert: { key: string; cert: string };

beforeAll(() => {
  ({ dir, cleanup } = tempDir('kms-seal'));
  cert = keygen(dir, 'cluster');
  writeFileSync(join(dir, 'secret.yaml'), SECRET);
});
afterAll(() => { cleanup(); });

function sealedAt(path: string): Sealed {
  return parse(readFileSync(path, 'utf8')) as Sealed;
}

/** The unsealed values of a sealed file, read with `sealbox unseal ARGS`. */
function unsealedValues(path: string, args: string[] = []): Record<string, string> {
  const r = sealbox(['unseal', '-f', path, ...args], { env: kmsEnv() });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const data = (parse(r.stdout) as { data: Record<string, string> }).data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** A copy of a sealed file whose groups keep only the stanzas of `type`. */
function onlyRecipient(path: string, type: string): string {
  const doc = sealedAt(path);
  for (const g of doc.spec.dataKeys) g.recipients = g.recipients.filter((r) => r.type === type);
  const out = `${path}.${type}.yaml`;
  writeFileSync(out, stringify(doc));
  return out;
}

describe('sealbox seal --kms', () => {
  it('seals one file for an AWS key, a Key Vault key and a certificate, and each recipient alone unseals it', async () => {
    const arn = await newAwsKey();
    const azure = await newAzureKeyVersion();
    const out = join(dir, 'three.yaml');

    const r = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--cert', cert.cert, '--kms', `aws:${arn}`, '--kms', `azure:${azure.versionless}`, '-o', out], { env: kmsEnv() });

    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const sealed = sealedAt(out);
    expect(sealed.spec.dataKeys).toHaveLength(1);
    expect(sealed.spec.dataKeys[0]?.recipients.map((s) => [s.type, s.id.length === 64 ? 'fingerprint' : s.id])).toEqual([
      ['cert', 'fingerprint'], ['aws-kms', arn], ['azure-kv', azure.id],
    ]);
    const expected = { password: 'hunter2', user: 'admin' };
    expect(unsealedValues(onlyRecipient(out, 'cert'), ['--key', cert.key])).toEqual(expected);
    expect(unsealedValues(onlyRecipient(out, 'aws-kms'))).toEqual(expected);
    expect(unsealedValues(onlyRecipient(out, 'azure-kv'))).toEqual(expected);
  });

  it('refuses a KMS-sealed value moved to another namespace, through the AWS encryption context, with a TAMPERED error', async () => {
    const arn = await newAwsKey();
    const out = join(dir, 'moved.yaml');
    expect(sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--kms', `aws:${arn}`, '-o', out], { env: kmsEnv() }).status).toBe(0);
    const doc = sealedAt(out);
    doc.metadata.namespace = 'staging';
    const relabelled = join(dir, 'moved-relabelled.yaml');
    // An attacker who also rewrites the recorded binding gets past the format check; KMS still refuses.
    for (const g of doc.spec.dataKeys) g.binding = 'strict/staging/db';
    writeFileSync(relabelled, stringify(doc));
    doc.spec.dataKeys.forEach((g) => { g.binding = 'strict/prod/db'; });
    const moved = join(dir, 'moved-only.yaml');
    writeFileSync(moved, stringify(doc));

    const plain = sealbox(['unseal', '-f', moved], { env: kmsEnv() });
    const deep = sealbox(['unseal', '-f', relabelled], { env: kmsEnv() });

    expect(plain.status).toBe(4); // SCOPE: the recorded binding says prod
    expect(plain.stderr).toContain('is bound to namespace "prod" but was found in "staging"');
    expect(deep.status).toBe(6); // TAMPERED: KMS refuses the context strict/staging/db
    expect(deep.stderr).toContain(`aws kms key "${arn}" refused the wrapped data key for "strict/staging/db"`);
    expect(deep.stdout).toBe('');
  });

  it('refuses a Key Vault-sealed value moved to another namespace through the values\' binding, with a TAMPERED error', async () => {
    const azure = await newAzureKeyVersion();
    const out = join(dir, 'moved-azure.yaml');
    expect(sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--kms', `azure:${azure.versionless}`, '-o', out], { env: kmsEnv() }).status).toBe(0);
    const doc = sealedAt(out);
    doc.metadata.namespace = 'staging';
    for (const g of doc.spec.dataKeys) g.binding = 'strict/staging/db';
    writeFileSync(out, stringify(doc));

    const r = sealbox(['unseal', '-f', out], { env: kmsEnv() });

    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/value "(password|user)" does not authenticate/);
    expect(r.stdout).toBe('');
  });

  it('never loads a cloud SDK when sealing with --cert only, and does when --kms is given', async () => {
    const arn = await newAwsKey();
    const azure = await newAzureKeyVersion();
    const deny = ['--import', join(import.meta.dirname, '..', 'peers', 'deny-cloud-sdks.mjs')];

    const certOnly = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--cert', cert.cert], { nodeArgs: deny, env: kmsEnv() });
    const withKms = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--cert', cert.cert, '--kms', `aws:${arn}`], { nodeArgs: deny, env: kmsEnv() });
    const withAzure = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--cert', cert.cert, '--kms', `azure:${azure.versionless}`], { nodeArgs: deny, env: kmsEnv() });

    expect(certOnly.stderr).toBe('');
    expect(certOnly.status).toBe(0);
    expect(withKms.stderr).toContain('cloud SDK import denied: @aws-sdk/client-kms');
    expect(withAzure.stderr).toContain('cloud SDK import denied: @azure/');
  });

  it('asks for a key when unsealing a file that has no KMS recipients without --key', () => {
    const out = join(dir, 'cert-only.yaml');
    expect(sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--cert', cert.cert, '-o', out], { env: kmsEnv() }).status).toBe(0);

    const r = sealbox(['unseal', '-f', out], { env: kmsEnv() });

    expect(r.status).toBe(3);
    expect(r.stderr).toContain('no keys: pass --key with a private key file (the input has no KMS recipients');
  });
});

describe('.sealbox.yaml', () => {
  let repo: string;
  let arn: string;
  let azure: { versionless: string; id: string };

  beforeAll(async () => {
    arn = await newAwsKey();
    azure = await newAzureKeyVersion();
    repo = join(dir, 'repo');
    mkdirSync(join(repo, 'apps', 'prod'), { recursive: true });
    mkdirSync(join(repo, 'apps', 'dev'), { recursive: true });
    mkdirSync(join(repo, 'certs'), { recursive: true });
    // a repository: its root's config applies to the folders below it
    mkdirSync(join(repo, '.git'));
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(repo, 'certs', 'prod.pem'), readFileSync(cert.cert));
    writeFileSync(join(repo, '.sealbox.yaml'), [
      'rules:',
      '  - path: apps/prod/**',
      '    scope: namespace',
      '    recipients:',
      '      - cert:certs/prod.pem',
      `      - aws:${arn}`,
      '  - recipients:',
      `      - azure:${azure.versionless}`,
      '',
    ].join('\n'));
  });

  it('seals with the recipients and scope of the first rule matching the output path, with no key flags', () => {
    const r = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '-o', 'db.yaml'], { cwd: join(repo, 'apps', 'prod'), env: kmsEnv() });

    expect(r.stderr).toMatch(new RegExp(`^using ${join(repo, '.sealbox.yaml')} rule 1 \\(apps/prod/\\*\\*\\): scope namespace, recipients cert [0-9a-f]{64}, aws-kms ${arn}\n$`));
    expect(r.status).toBe(0);
    const sealed = sealedAt(join(repo, 'apps', 'prod', 'db.yaml'));
    expect(sealed.spec.scope).toBe('namespace');
    expect(sealed.spec.dataKeys[0]?.recipients.map((s) => s.type)).toEqual(['cert', 'aws-kms']);
    expect(unsealedValues(join(repo, 'apps', 'prod', 'db.yaml'))).toEqual({ password: 'hunter2', user: 'admin' });
  });

  it('falls through to a rule without a path, and uses the current folder for standard input', () => {
    const r = sealbox(['seal'], { cwd: join(repo, 'apps', 'dev'), input: SECRET, env: kmsEnv() });

    expect(r.stderr).toBe(`using ${join(repo, '.sealbox.yaml')} rule 2: scope strict, recipients azure-kv ${azure.versionless}\n`);
    expect(r.status).toBe(0);
    const sealed = parse(r.stdout) as Sealed;
    expect(sealed.spec.scope).toBe('strict');
    expect(sealed.spec.dataKeys[0]?.recipients.map((s) => s.id)).toEqual([azure.id]);
  });

  it('lets --kms and --scope override the rule', () => {
    const r = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '--kms', `aws:${arn}`, '--scope', 'cluster', '-o', 'db2.yaml'], { cwd: join(repo, 'apps', 'prod'), env: kmsEnv() });

    expect(r.status).toBe(0);
    const sealed = sealedAt(join(repo, 'apps', 'prod', 'db2.yaml'));
    expect(sealed.spec.scope).toBe('cluster');
    expect(sealed.spec.dataKeys[0]?.recipients.map((s) => s.type)).toEqual(['aws-kms']);
  });

  it('names the config file and the field of a malformed rule', () => {
    const bad = join(dir, 'badrepo');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, '.sealbox.yaml'), 'rules:\n  - path: "**"\n    recipients: [gpg:ABCDEF]\n');

    const r = sealbox(['seal', '-f', join(dir, 'secret.yaml'), '-o', join(bad, 'x.yaml')], { env: kmsEnv() });

    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`${join(bad, '.sealbox.yaml')}: rules[0].recipients[0]: "gpg:ABCDEF" is not a recipient`);
  });
});
