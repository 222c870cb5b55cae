import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { rewrapSealed } from '../../src/format/rotate.js';
import { mergeIntoSealed } from '../../src/format/seal.js';
import { parseSealedSecret, sealedManifest } from '../../src/format/sealed.js';
import { CertIdentity, CertRecipient } from '../../src/keys/cert.js';
import type { Run } from '../helpers/cli.js';
import { ensureBuilt, keygen, sealbox, sealboxAsync, tempDir } from '../helpers/cli.js';

// `sealbox reseal` against a controller that lies. The server below plays
// the attacker (a compromised controller, or whoever answers on an
// unprotected path): it re-wraps honestly with the old key's private half,
// then alters the answer. reseal must accept only a change of the recipients
// blocks, and write nothing otherwise.

const MARKER = 'plaintext-marker-51c0';
const SECRET = `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  username: ${MARKER}-user\n  password: ${MARKER}-password\n`;

type Manifest = {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    scope: string;
    template: { type: string; metadata?: { annotations?: Record<string, string> } };
    encryptedData: Record<string, string>;
    dataKeys: { group: string; binding: string; recipients: { type: string; id: string; wrapped: string }[] }[];
  };
};

let dir: string;
let cleanup: () => void;
let oldKey: { key: string; cert: string };
let newKey: { key: string; cert: string };
let sealedText: string;
let server: Server;
let url: string;
let requests = 0;
/** What the attacker does to an honest answer; undefined answers honestly. */
let attack: ((m: Manifest, body: string) => Promise<string | { status: number; body: string }> | string | { status: number; body: string }) | undefined;

async function honestRewrap(body: string): Promise<Manifest> {
  const before = parseSealedSecret(JSON.parse(body), 'request');
  const identity = CertIdentity.fromPem(readFileSync(oldKey.key), 'old');
  const newest = CertRecipient.fromPem(readFileSync(newKey.cert), 'new');
  const after = await rewrapSealed(before, [identity], { wrappers: [newest], drop: (s) => s.type === 'cert' && s.id !== newest.recipient.id }, 'request');
  return sealedManifest(after) as unknown as Manifest;
}

async function answer(body: string): Promise<{ status: number; body: string }> {
  const honest = await honestRewrap(body);
  const out = attack === undefined ? JSON.stringify(honest) : await attack(honest, body);
  return typeof out === 'string' ? { status: 200, body: out } : out;
}

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('reseal'));
  oldKey = keygen(dir, 'old');
  newKey = keygen(dir, 'new');
  sealedText = sealbox(['seal', '--cert', oldKey.cert], { input: SECRET }).stdout;
  server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      answer(Buffer.concat(chunks).toString('utf8')).then(
        (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  cleanup();
});

function sealedFile(name: string): string {
  const file = join(dir, name);
  writeFileSync(file, sealedText);
  return file;
}

async function reseal(...args: string[]): Promise<Run> {
  return sealboxAsync(['reseal', ...args], { cwd: dir });
}

const swap = (m: Manifest): string => {
  const { username, password } = m.spec.encryptedData;
  m.spec.encryptedData = { username: password ?? '', password: username ?? '' };
  return JSON.stringify(m);
};

/** The controller seals a value of its own choosing into the answer. */
async function substitute(m: Manifest): Promise<string> {
  const s = parseSealedSecret(m, 'answer');
  const attacker = CertRecipient.fromPem(readFileSync(newKey.cert), 'attacker');
  const next = await mergeIntoSealed(s, new Map([['password', new Uint8Array(Buffer.from('attacker-chosen'))]]), { wrappers: [attacker] });
  return JSON.stringify(sealedManifest(next));
}

const mutate = (edit: (m: Manifest) => void) => (m: Manifest): string => {
  edit(m);
  return JSON.stringify(m);
};

describe('sealbox reseal against a controller that alters its answer', () => {
  it('accepts an honest answer and changes only the recipients blocks', async () => {
    attack = undefined;
    const file = sealedFile('honest.yaml');
    const r = await reseal('--controller-url', url, file);

    expect(r.stderr).toContain('1 file(s) resealed');
    expect(r.status).toBe(0);
    const before = parse(sealedText) as Manifest;
    const after = parse(readFileSync(file, 'utf8')) as Manifest;
    expect(after.spec.encryptedData).toEqual(before.spec.encryptedData);
    expect(after.spec.dataKeys.map((g) => g.recipients.map((x) => x.id))).toEqual([[CertRecipient.fromPem(readFileSync(newKey.cert), 'n').recipient.id]]);
  });

  it.each<[string, NonNullable<typeof attack>, number, string]>([
    ['swaps two values\' ciphertexts', swap, EXIT_CODES.TAMPERED, 'the ciphertext of value'],
    ['substitutes a value it sealed itself', substitute, EXIT_CODES.TAMPERED, 'the ciphertext of value "password"'],
    ['drops a value', mutate((m) => { delete m.spec.encryptedData.password; }), EXIT_CODES.TAMPERED, 'the set of values'],
    // (a service-account-token type would be refused earlier, as a template the controller never writes)
    ['changes the template type', mutate((m) => { m.spec.template.type = 'kubernetes.io/basic-auth'; }), EXIT_CODES.TAMPERED, 'spec.template'],
    ['adds a template annotation', mutate((m) => { m.spec.template.metadata = { annotations: { 'kubernetes.io/service-account.name': 'admin' } }; }), EXIT_CODES.TAMPERED, 'spec.template'],
    ['widens the scope', mutate((m) => { m.spec.scope = 'cluster'; }), EXIT_CODES.TAMPERED, 'spec.scope'],
    ['labels the resource', mutate((m) => { m.metadata.labels = { a: 'b' }; }), EXIT_CODES.TAMPERED, 'metadata.labels'],
    ['renames the resource', mutate((m) => { m.metadata.name = 'other'; }), EXIT_CODES.TAMPERED, 'metadata.name'],
    ['rewrites a group binding', mutate((m) => { const g = m.spec.dataKeys[0]; if (g) g.binding = 'cluster'; }), EXIT_CODES.TAMPERED, 'binding'],
    ['adds a KMS recipient', mutate((m) => { m.spec.dataKeys[0]?.recipients.push({ type: 'aws-kms', id: 'arn:aws:kms:eu-west-1:111122223333:key/attacker', wrapped: 'AAAA' }); }), EXIT_CODES.TAMPERED, 'aws-kms stanza'],
    ['answers with something that is not JSON', () => '<html>proxy error</html>', EXIT_CODES.PROVIDER, 'not JSON'],
    ['refuses with an error code sealbox does not know', () => ({ status: 422, body: JSON.stringify({ error: 'no', code: 'OK' }) }), EXIT_CODES.PROVIDER, 'cannot re-wrap'],
  ])('refuses an answer that %s and writes nothing', async (_what, how, code, message) => {
    attack = how;
    const good = sealedFile('a-good.yaml');
    const bad = sealedFile('b-bad.yaml');
    // The first file gets an honest answer: it too must stay as it was.
    let calls = 0;
    const honestFirst = attack;
    attack = (m, body) => (calls++ === 0 ? JSON.stringify(m) : honestFirst(m, body));
    const r = await reseal('--controller-url', url, good, bad);

    expect(r.stderr).toContain(message);
    expect(r.status).toBe(code);
    expect(readFileSync(good, 'utf8')).toBe(sealedText);
    expect(readFileSync(bad, 'utf8')).toBe(sealedText);
    expect(r.stderr).not.toContain(MARKER);
  });
});

describe('sealbox reseal and --controller-url over plain http', () => {
  const nonLoopback = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal)?.address;

  it.each(['http://controller.example:8080', 'http://10.0.0.7:8080', 'http://[fe80::1]:8080', 'http://127.0.0.1.example:8080'])('refuses %s before any request', async (target) => {
    const file = sealedFile('http.yaml');
    const r = await reseal('--controller-url', target, file);

    expect(r.stderr).toContain('plain http is allowed only to the loopback');
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(readFileSync(file, 'utf8')).toBe(sealedText);
  });

  it.runIf(nonLoopback !== undefined)('sends nothing to a controller reached over http on a non-loopback address', async () => {
    attack = undefined;
    const file = sealedFile('lan.yaml');
    const before = requests;
    const r = await reseal('--controller-url', `http://${nonLoopback ?? ''}:${(server.address() as AddressInfo).port}`, file);

    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(requests).toBe(before);
  });

  it('also refuses it when fetching the certificate for seal', () => {
    const r = sealbox(['seal', '--controller-url', 'http://controller.example:8080'], { input: SECRET, cwd: dir });

    expect(r.stderr).toContain('plain http is allowed only to the loopback');
    expect(r.status).toBe(EXIT_CODES.INPUT);
  });

  it('accepts http to localhost', async () => {
    attack = undefined;
    const file = sealedFile('localhost.yaml');
    const r = await reseal('--controller-url', url.replace('127.0.0.1', 'localhost'), file);

    expect(r.stderr).toContain('1 file(s) resealed');
    expect(r.status).toBe(0);
  });
});
