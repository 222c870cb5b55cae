import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';
import { flipValueBit } from '../helpers/tamper.js';

// Every way a sealed file can be moved or altered fails with its own exit
// code and message, writes nothing, and never echoes a secret value.

const MARKER = 'plaintext-marker-7a3e';
const SECRET = `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  username: ${MARKER}-user\n  password: ${MARKER}-password\n`;

type Sealed = {
  apiVersion: string;
  metadata: { name: string; namespace: string };
  spec: { scope: string; encryptedData: Record<string, string>; dataKeys: { binding: string; recipients: { type: string; id: string; wrapped: string }[] }[] };
};

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let b: { key: string; cert: string };
let sealedText: string;
let twoRecipientsText: string;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('tamper'));
  a = keygen(dir, 'a');
  b = keygen(dir, 'b');
  sealedText = sealbox(['seal', '--cert', a.cert], { input: SECRET }).stdout;
  twoRecipientsText = sealbox(['seal', '--cert', a.cert, '--cert', b.cert], { input: SECRET }).stdout;
}, 120_000);
afterAll(() => {
  cleanup();
});

function edited(text: string, edit: (s: Sealed) => void): string {
  const s = parse(text) as Sealed;
  edit(s);
  return stringify(s, { lineWidth: 0 });
}

const otherFingerprint = 'e'.repeat(64);

interface Case {
  what: string;
  source: () => string;
  key?: () => string;
  code: number;
  message: string;
}

const cases: Case[] = [
  { what: 'a value moved to another key name', source: () => edited(sealedText, (s) => { const { username, password } = s.spec.encryptedData; s.spec.encryptedData = { username: password ?? '', password: username ?? '' }; }), code: EXIT_CODES.SCOPE, message: 'was sealed under another key name ("' },
  { what: 'a strict Secret renamed', source: () => edited(sealedText, (s) => (s.metadata.name = 'db-copy')), code: EXIT_CODES.SCOPE, message: 'is bound to secret name "db" but the resource is named "db-copy"' },
  { what: 'a Secret moved to another namespace', source: () => edited(sealedText, (s) => (s.metadata.namespace = 'staging')), code: EXIT_CODES.SCOPE, message: 'is bound to namespace "prod" but was found in "staging"' },
  { what: 'a scope widened to cluster', source: () => edited(sealedText, (s) => (s.spec.scope = 'cluster')), code: EXIT_CODES.SCOPE, message: 'was sealed with scope "strict"' },
  { what: 'a corrupted start of a value', source: () => edited(sealedText, (s) => { const [p, g, body = ''] = (s.spec.encryptedData.password ?? '').split(':'); s.spec.encryptedData.password = `${p ?? ''}:${g ?? ''}:${body.startsWith('AAAA') ? 'BBBB' : 'AAAA'}${body.slice(4)}`; }), code: EXIT_CODES.TAMPERED, message: 'value "password" does not authenticate' },
  { what: 'a value renamed to a key the resource lacks', source: () => edited(sealedText, (s) => { const { username, password } = s.spec.encryptedData; s.spec.encryptedData = { username: username ?? '', secret: password ?? '' }; }), code: EXIT_CODES.TAMPERED, message: 'or it was renamed from a key this resource no longer has' },
  { what: 'one bit flipped in a value', source: () => edited(sealedText, (s) => (s.spec.encryptedData.password = flipValueBit(s.spec.encryptedData.password ?? '', 20, 0x04))), code: EXIT_CODES.TAMPERED, message: 'value "password" does not authenticate' },
  { what: 'a move hidden by editing the recorded binding', source: () => edited(sealedText, (s) => { s.metadata.namespace = 'staging'; s.spec.dataKeys.forEach((g) => (g.binding = 'strict/staging/db')); }), code: EXIT_CODES.TAMPERED, message: 'the wrapped data key does not decrypt for this resource' },
  { what: 'a recipient removed', source: () => edited(twoRecipientsText, (s) => s.spec.dataKeys.forEach((g) => g.recipients.shift())), code: EXIT_CODES.NO_KEY, message: 'none of your keys' },
  { what: 'every recipient removed', source: () => edited(sealedText, (s) => s.spec.dataKeys.forEach((g) => (g.recipients = []))), code: EXIT_CODES.INPUT, message: 'recipients must be a non-empty list' },
  { what: 'a recipient id edited', source: () => edited(sealedText, (s) => s.spec.dataKeys.forEach((g) => g.recipients.forEach((r) => (r.id = otherFingerprint)))), code: EXIT_CODES.NO_KEY, message: `whose recipients are cert:${otherFingerprint.slice(0, 12)}` },
  { what: 'a wrapped data key edited', source: () => edited(sealedText, (s) => s.spec.dataKeys.forEach((g) => g.recipients.forEach((r) => (r.wrapped = flipValueBit(`x:y:${r.wrapped}`, 100, 0x04).split(':')[2] ?? '')))), code: EXIT_CODES.TAMPERED, message: 'does not decrypt for this resource' },
  { what: 'the wrong key', source: () => sealedText, key: () => b.key, code: EXIT_CODES.NO_KEY, message: 'none of your keys (cert:' },
  { what: 'a newer format version', source: () => edited(sealedText, (s) => (s.apiVersion = 'sealbox.dev/v2')), code: EXIT_CODES.INPUT, message: 'upgrade sealbox' },
  { what: 'malformed YAML', source: () => `${sealedText}\n  : - [`, code: EXIT_CODES.INPUT, message: 'invalid YAML at line' },
];

describe('sealbox unseal of a tampered file', () => {
  it.each(cases)('fails on $what with exit code $code, a one-line error, and no output file', ({ source, key, code, message }) => {
    const work = join(dir, `case-${Math.random().toString(36).slice(2)}`);
    mkdirSync(work);
    writeFileSync(join(work, 'in.yaml'), source());
    const r = sealbox(['unseal', '--key', key?.() ?? a.key, '-f', 'in.yaml', '-o', 'out.yaml'], { cwd: work });
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(/^error: [^\n]+\n$/);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(MARKER);
    expect(r.stdout).toBe('');
    expect(readdirSync(work)).toEqual(['in.yaml']);
  });

  // Some cases look the same from the unsealer's side and are left out: a
  // recipient removed or renamed is the wrong key, and a hidden move is an
  // edited wrap (the OAEP label authenticates both at once).
  it('tells the cases apart by exit code and message', () => {
    const same = new Set(['the wrong key', 'a recipient id edited', 'a move hidden by editing the recorded binding', 'a corrupted start of a value', 'a value renamed to a key the resource lacks']);
    const distinct = cases.filter((c) => !same.has(c.what));
    const outcomes = distinct.map((c) => {
      const r = sealbox(['unseal', '--key', c.key?.() ?? a.key], { input: c.source() });
      return `${r.status ?? 'none'} ${r.stderr.replace(/[0-9a-f]{12,}/g, '')}`;
    });
    expect(new Set(outcomes).size).toBe(distinct.length);
  });

  it('leaves an existing output file as it was when unsealing fails', () => {
    const out = join(dir, 'existing.yaml');
    writeFileSync(out, 'keep me\n');
    const r = sealbox(['unseal', '--key', b.key, '-o', out], { input: sealedText });
    expect(r.status).toBe(EXIT_CODES.NO_KEY);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
  });

  it('unseals the untampered file, so each failure above is caused by its edit', () => {
    const r = sealbox(['unseal', '--key', a.key], { input: sealedText });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(Buffer.from(`${MARKER}-password`).toString('base64'));
  });
});

describe('sealbox seal with bad input', () => {
  it.each([
    { what: 'malformed YAML', input: 'apiVersion: v1\nkind: Secret\n  data: [', code: EXIT_CODES.INPUT, message: 'standard input document 1: invalid YAML at line' },
    { what: 'a value that is not base64', input: `apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: ${MARKER}!}`, code: EXIT_CODES.INPUT, message: 'data."k" is not valid base64' },
    { what: 'an invalid key name', input: `apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {"a b": ${MARKER}}`, code: EXIT_CODES.INPUT, message: '"a b" is not a valid Secret key' },
    { what: 'a second document that is not a v1 Secret', input: `${SECRET}---\napiVersion: v2\nkind: Secret\nmetadata: {name: x}\nstringData: {k: ${MARKER}}`, code: EXIT_CODES.INPUT, message: 'document 2 ("x") is a Secret, not a v1 Secret' },
    { what: 'a duplicate key', input: `${SECRET}  password: again-${MARKER}\n`, code: EXIT_CODES.INPUT, message: 'duplicate key' },
    { what: 'an empty input', input: '', code: EXIT_CODES.INPUT, message: 'no documents to seal' },
  ])('fails on $what with exit code $code and writes nothing', ({ input, code, message }) => {
    const work = join(dir, `seal-${Math.random().toString(36).slice(2)}`);
    mkdirSync(work);
    const r = sealbox(['seal', '--cert', a.cert, '-o', 'sealed.yaml'], { input, cwd: work });
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(/^error: [^\n]+\n$/);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(MARKER);
    expect(readdirSync(work)).toEqual([]);
  });

  it('fails with exit code 9 when the output cannot be renamed into place, leaving no temporary file', () => {
    const work = join(dir, 'rename-fails');
    mkdirSync(join(work, 'out.yaml'), { recursive: true });
    const r = sealbox(['unseal', '--key', a.key, '-o', 'out.yaml'], { input: sealedText, cwd: work });
    expect(r.status).toBe(EXIT_CODES.IO);
    expect(r.stderr).toMatch(/^error: cannot write out\.yaml: [^\n]+\n$/);
    expect(r.stderr).not.toContain(MARKER);
    expect(readdirSync(work)).toEqual(['out.yaml']);
    expect(readdirSync(join(work, 'out.yaml'))).toEqual([]);
  });

  it('leaves the --merge-into file byte-identical when the merge fails', () => {
    const target = join(dir, 'merge-target.yaml');
    writeFileSync(target, sealedText);
    const r = sealbox(['seal', '--cert', a.cert, '--merge-into', target, '--name', 'nope', '--namespace', 'prod', '--from-literal', `k=${MARKER}`]);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('has no sealed secret matching secret "nope"');
    expect(r.stderr).not.toContain(MARKER);
    expect(readFileSync(target, 'utf8')).toBe(sealedText);
    expect(readdirSync(dir).filter((f) => f.includes('merge-target'))).toEqual(['merge-target.yaml']);
  });
});
