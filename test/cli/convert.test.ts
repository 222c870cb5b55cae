// `sealbox convert` as a user runs it, against the controller's HTTP server
// running in this process with the committed test keys (the real control
// plane: test/integration/convert.test.ts), and against one that lies.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { SealingKey } from '../../src/controller/keys.js';
import { Metrics } from '../../src/controller/metrics.js';
import { startServer } from '../../src/controller/server.js';
import { EXIT_CODES } from '../../src/errors.js';
import { BITNAMI_PLAINTEXT, bitnamiVector } from '../helpers/bitnami-vectors.js';
import { sealboxAsync, tempDir } from '../helpers/cli.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../helpers/keys.js';

function sealingKey(name: 'a' | 'b'): SealingKey {
  const identity = vectorIdentity(name);
  return { name: `k-${name}`, createdAt: new Date(), sealingSince: new Date(), fingerprint: identity.fingerprint, certificatePem: vectorKey(name).certPem, identity, recipient: vectorRecipient(name) };
}

let url = '';
let liar = '';
const servers: Server[] = [];
let dir = '';
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('convert'));
  const keys = [sealingKey('b'), sealingKey('a')];
  const server = await startServer({ listen: '127.0.0.1:0', keys: { keys, newest: keys[0], countRsaOps: () => undefined }, metrics: new Metrics(), log: pino({ level: 'silent' }), extraUnwrappers: () => [], ready: () => true });
  servers.push(server);
  url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  // Converts honestly, then moves the answer to another namespace.
  const lying = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void fetch(`${url}/v1/convert`, { method: 'POST', body: Buffer.concat(chunks) }).then(async (r) => {
        const doc = JSON.parse(await r.text()) as { metadata: { namespace: string } };
        doc.metadata.namespace = 'elsewhere';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
      });
    });
  });
  await new Promise<void>((r) => lying.listen(0, '127.0.0.1', r));
  servers.push(lying);
  liar = `http://127.0.0.1:${String((lying.address() as AddressInfo).port)}`;
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
  cleanup();
});

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings # kept as written\ndata:\n  a: "1"\n';

/** A folder with a file of a ConfigMap and two SealedSecrets made by kubeseal, and a file of a sealbox-free Deployment. */
function tree(name: string): { folder: string; file: string; other: string; text: string } {
  const folder = join(dir, name);
  const file = join(folder, 'secrets.yaml');
  const other = join(folder, 'deploy.yaml');
  const text = `${CONFIGMAP}---\n${stringify(bitnamiVector('a.strict.yaml'))}---\n${stringify(bitnamiVector('a.cluster-wide.yaml'))}`;
  mkdirSync(folder, { recursive: true });
  writeFileSync(file, text, { mode: 0o640 });
  writeFileSync(other, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\n');
  return { folder, file, other, text };
}

describe('sealbox convert', () => {
  it('--check asks no controller: exits 10 naming the files that still hold a Bitnami SealedSecret, 0 once converted', async () => {
    const t = tree('check');
    const r = await sealboxAsync(['convert', '--check', t.folder, '--controller-url', 'http://127.0.0.1:9']);
    expect(r.status, r.stderr).toBe(EXIT_CODES.FINDINGS);
    expect(r.stdout).toBe(`${t.file}: 2 Bitnami SealedSecret(s) to convert\n`);
    expect(readFileSync(t.file, 'utf8')).toBe(t.text);
    expect((await sealboxAsync(['convert', t.folder, '--controller-url', url])).status).toBe(0);
    const again = await sealboxAsync(['convert', '--check', t.folder]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('0 file(s) to convert');
  });

  it('--dry-run converts through the controller and writes nothing', async () => {
    const t = tree('dry');
    const r = await sealboxAsync(['convert', '--dry-run', t.folder, '--controller-url', url]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`would convert ${t.file} (2 SealedSecret(s))`);
    expect(readFileSync(t.file, 'utf8')).toBe(t.text);
  });

  it('rewrites each SealedSecret in place as a sealbox one, keeping the other documents, comments and the file mode; no plaintext', async () => {
    const t = tree('write');
    const r = await sealboxAsync(['convert', t.folder, '--controller-url', url]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('2 SealedSecret(s) in 1 file(s) converted, 2 file(s) checked');
    const text = readFileSync(t.file, 'utf8');
    expect(text.startsWith(`${CONFIGMAP}---\n`)).toBe(true);
    const docs = parseAllDocuments(text).map((d) => d.toJS() as { apiVersion: string; metadata: { name: string }; spec?: { scope: string } });
    expect(docs.map((d) => [d.apiVersion, d.metadata.name, d.spec?.scope])).toEqual([['v1', 'settings', undefined], ['sealbox.dev/v1', 'db', 'strict'], ['sealbox.dev/v1', 'db', 'cluster']]);
    expect(statSync(t.file).mode & 0o777).toBe(0o640);
    expect(readFileSync(t.other, 'utf8')).toContain('kind: Deployment');
    for (const v of Object.values(BITNAMI_PLAINTEXT).filter((p) => p.length > 0)) expect(text).not.toContain(v.toString('utf8'));
    const plain = await sealboxAsync(['unseal', '--key', vectorKey('b').keyPath, '-f', t.file]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`password: ${BITNAMI_PLAINTEXT.password?.toString('base64') ?? 'x'}`);
  });

  it('writes no file when one SealedSecret is refused (exit 5), nor when the controller answers another namespace (exit 6), nor when it lacks /v1/convert (exit 7)', async () => {
    const t = tree('refused');
    const foreign = join(t.folder, 'z-foreign.yaml');
    const foreignText = stringify(bitnamiVector('b.strict.yaml')).replace('namespace: prod', 'namespace: staging');
    writeFileSync(foreign, foreignText);
    const refused = await sealboxAsync(['convert', t.folder, '--controller-url', url]);
    expect(refused.status, refused.stderr).toBe(EXIT_CODES.NO_KEY);
    expect(refused.stderr).toContain('z-foreign.yaml document 1');
    const lied = await sealboxAsync(['convert', t.file, '--controller-url', liar]);
    expect(lied.status, lied.stderr).toBe(EXIT_CODES.TAMPERED);
    const old = await sealboxAsync(['convert', t.file, '--controller-url', `${url}/nothing-here`]);
    expect(old.status, old.stderr).toBe(EXIT_CODES.PROVIDER);
    expect(readFileSync(t.file, 'utf8')).toBe(t.text);
    expect(readFileSync(foreign, 'utf8')).toBe(foreignText);
  });
});
