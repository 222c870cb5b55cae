import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

// Values with quotes, a dollar sign, a newline and non-ASCII text; one binary value.
const TRICKY = "it's $HOME \"quoted\"\nsecond line ü";
const BINARY = Buffer.from([0xff, 0x00, 0xfe, 0x01]);
const secret = (data: Record<string, Buffer>): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: 'prod' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])) });

let dir: string;
let cleanup: () => void;
let key: string;
let textFile: string;
let binaryFile: string;

function sealTo(name: string, input: string, cert: string): string {
  const out = join(dir, name);
  const r = sealbox(['seal', '--cert', cert, '-o', out], { input });
  if (r.status !== 0) throw new Error(r.stderr);
  return out;
}

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('values'));
  const k = keygen(dir, 'k');
  key = k.key;
  textFile = sealTo('text.yaml', secret({ DB_PASSWORD: Buffer.from(TRICKY), PLAIN: Buffer.from('abc-123') }), k.cert);
  binaryFile = sealTo('binary.yaml', secret({ 'tls.key': BINARY, 'ca.crt': Buffer.from('text') }), k.cert);
}, 120_000);
afterAll(() => {
  cleanup();
});

describe('sealbox unseal --decode', () => {
  it('writes readable stringData, and keeps values that are not UTF-8 in base64 data', () => {
    const r = sealbox(['unseal', '--key', key, '-f', binaryFile, '--decode']);
    expect(r.status).toBe(0);
    const doc = parse(r.stdout) as { stringData: object; data: object };
    expect(doc.stringData).toEqual({ 'ca.crt': 'text' });
    expect(doc.data).toEqual({ 'tls.key': BINARY.toString('base64') });
    const text = parse(sealbox(['unseal', '--key', key, '-f', textFile, '--decode']).stdout) as { stringData: object; data?: object };
    expect(text.stringData).toEqual({ DB_PASSWORD: TRICKY, PLAIN: 'abc-123' });
    expect(text.data).toBeUndefined();
  });
});

describe('sealbox unseal --format env', () => {
  it('writes a dotenv file that a shell loads back to the exact values, mode 0600', () => {
    const out = join(dir, 'app.env');
    const r = sealbox(['unseal', '--key', key, '-f', textFile, '--format', 'env', '-o', out]);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const sh = spawnSync('sh', ['-c', `set -a; . "${out}"; printf '%s|%s' "$DB_PASSWORD" "$PLAIN"`], { encoding: 'utf8' });
    expect(sh.stdout).toBe(`${TRICKY}|abc-123`);
    expect(sealbox(['unseal', '--key', key, '-f', textFile, '--format', 'env']).stdout).toMatch(/^DB_PASSWORD='it'\\''s \$HOME[^\n]*\nsecond line ü'\nPLAIN=abc-123\n$/);
  });

  it('refuses a key that is not a variable name, naming the key and not the value', () => {
    const r = sealbox(['unseal', '--key', key, '-f', binaryFile, '--format', 'env']);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toMatch(/^error: secret "prod\/app": key "(tls\.key|ca\.crt)" is not a valid environment variable name/);
    expect(r.stdout).toBe('');
    expect(sealbox(['unseal', '--key', key, '-f', textFile, '--format', 'xml']).stderr).toContain('use yaml, json or env');
  });
});

describe('sealbox exec', () => {
  it('runs the command with the values in its environment and writes nothing to disk', () => {
    const work = join(dir, 'work');
    const tmp = join(dir, 'tmp');
    mkdirSync(work);
    mkdirSync(tmp);
    const args = ['exec', '--key', key, '-f', textFile, '--', 'sh', '-c', `printf '%s|%s|%s' "$DB_PASSWORD" "$PLAIN" "$HOME"`];
    const run = sealbox(args, { cwd: work, env: { TMPDIR: tmp } });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${TRICKY}|abc-123|${process.env.HOME ?? ''}`);
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("exits with the command's exit code, and 128+N when a signal ends it", () => {
    expect(sealbox(['exec', '--key', key, '-f', textFile, '--', 'sh', '-c', 'exit 42']).status).toBe(42);
    expect(sealbox(['exec', '--key', key, '-f', textFile, '--', 'sh', '-c', 'kill -TERM $$']).status).toBe(143);
  });

  it('refuses a missing command, a file with no sealed secret, and a missing --file', () => {
    const missing = sealbox(['exec', '--key', key, '-f', textFile, '--', 'no-such-command-9f2e']);
    expect(missing.status).toBe(EXIT_CODES.INPUT);
    expect(missing.stderr).toBe('error: cannot run "no-such-command-9f2e": command not found\n');
    const cm = join(dir, 'cm.yaml');
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    expect(sealbox(['exec', '--key', key, '-f', cm, '--', 'true']).stderr).toMatch(/has no sealed secret/);
    expect(sealbox(['exec', '--key', key, '--', 'true']).status).toBe(2);
  });
});
