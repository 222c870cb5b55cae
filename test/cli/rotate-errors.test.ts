import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

// What `sealbox rotate` prints when a file fails (issue 12, "messages that
// need rewriting"): one line per error, naming the file once, and no talk of
// "kms:aws,azure" keys the user never configured.

const plain = (name: string, value: string): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {${value}}\n`;
const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let b: { key: string; cert: string };

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('rotate-errors'));
  a = keygen(dir, 'a');
  b = keygen(dir, 'b');
}, 120_000);
afterAll(() => {
  cleanup();
});

/** A file sealed for `a`; with `kms`, a second group that is also wrapped for an AWS KMS key. */
function sealedFile(name: string, kms: boolean): string {
  const file = join(dir, name);
  writeFileSync(file, sealbox(['seal', '--cert', a.cert], { input: plain('db', 'user: u') }).stdout);
  if (!kms) return file;
  const merged = sealbox(['seal', '--cert', a.cert, '--merge-into', file, '--name', 'db', '--namespace', 'prod', '--from-literal', 'password=p']);
  expect(merged.status, merged.stderr).toBe(0);
  const doc = parse(readFileSync(file, 'utf8')) as { spec: { dataKeys: { recipients: { type: string; id: string; wrapped: string }[] }[] } };
  doc.spec.dataKeys[1]?.recipients.push({ type: 'aws-kms', id: ARN, wrapped: Buffer.alloc(64, 1).toString('base64') });
  writeFileSync(file, stringify(doc));
  return file;
}

describe('sealbox rotate error lines', () => {
  it.each([
    ['a file sealed for cluster keys only', false],
    ['a file with an AWS KMS recipient in another group', true],
  ])('names the file once and asks for --key, not for "kms:aws,azure" keys, for %s', (_what, kms) => {
    const name = kms ? 'mixed.yaml' : 'certs.yaml';
    sealedFile(name, kms);
    const r = sealbox(['rotate', name, '--to-cert', b.cert], { cwd: dir, env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });

    expect(r.status).toBe(EXIT_CODES.NO_KEY);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^error: ${name} document 1 \\("prod/db"\\): no key was given to unwrap data-key group [0-9a-f]+, whose recipients are cert:[0-9a-f]{12}; pass --key`));
    expect(r.stderr).not.toContain('kms:');
    expect(r.stderr.split(name)).toHaveLength(2);
  });
});
