// Generates the sealbox format v1 test vectors in this folder. Run by hand,
// from the repository root, after a build:
//
//   npm run build && node test/vectors/generate.js
//
// It writes
//   keys/{a,b}.{key,cert}.pem  two 2048-bit RSA test keys (only when missing:
//                              the committed keys are kept, they are fixtures)
//   pure.json                  deterministic vectors of the pure parts (group
//                              id, key commitment, key check, AAD, OAEP label, sealed value
//                              bytes) and one sealed resource whose values were
//                              sealed with a recorded random stream
//   envelopes.json             positive envelopes with their plaintext, and one
//                              negative envelope per way to tamper with the
//                              error code an unsealer must report
//
// Each expected code below is written down from docs/FORMAT.md section 7, not
// recorded from what the code does; the script checks every vector against
// the build and exits non-zero when one disagrees, so a bug cannot be baked in.
// vectors.test.ts checks the committed files on every test run.
// These keys protect nothing: never use them for real secrets.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { groupIdOf, keyCheckOf, keyCommitmentOf, encryptValue } from '../../dist/src/crypto/aead.js';
import { bindingText, valueAad, wrapLabel } from '../../dist/src/crypto/binding.js';
import { encodeSealedValue } from '../../dist/src/crypto/value.js';
import { isSealboxError } from '../../dist/src/errors.js';
import { sealDocuments, unsealDocuments } from '../../dist/src/format/documents.js';
import { mergeSecretsInto } from '../../dist/src/format/merge.js';
import { sealSecret } from '../../dist/src/format/seal.js';
import { sealedManifest } from '../../dist/src/format/sealed.js';
import { parseDocuments } from '../../dist/src/format/yaml.js';
import { generateSealingKey } from '../../dist/src/keys/cert-gen.js';
import { CertIdentity, CertRecipient } from '../../dist/src/keys/cert.js';

const here = dirname(fileURLToPath(import.meta.url));
const hex = (b) => Buffer.from(b).toString('hex');
const b64 = (s) => Buffer.from(s).toString('base64');

async function ensureKey(name) {
  const keyPath = join(here, 'keys', `${name}.key.pem`);
  const certPath = join(here, 'keys', `${name}.cert.pem`);
  if (!existsSync(keyPath)) {
    mkdirSync(join(here, 'keys'), { recursive: true });
    const k = await generateSealingKey({ bits: 2048, days: 36500, commonName: `sealbox test vector key ${name.toUpperCase()}`, now: new Date('2025-01-01T00:00:00Z') });
    writeFileSync(keyPath, k.privateKeyPem, { mode: 0o600 });
    writeFileSync(certPath, k.certificatePem);
  }
  const keyPem = readFileSync(keyPath, 'utf8');
  const certPem = readFileSync(certPath, 'utf8');
  return { identity: CertIdentity.fromPem(keyPem, name), recipient: CertRecipient.fromPem(certPem, name) };
}

/** A RandomSource that derives bytes from a seed and records every draw. */
function recordingRandom(seed) {
  const draws = [];
  let counter = 0;
  const random = (size) => {
    let out = Buffer.alloc(0);
    while (out.length < size) out = Buffer.concat([out, createHash('sha256').update(`${seed}/${counter++}`).digest()]);
    const bytes = new Uint8Array(out.subarray(0, size));
    draws.push(hex(bytes));
    return bytes;
  };
  return { random, draws };
}

function pureVectors() {
  const dataKey = Uint8Array.from({ length: 32 }, (_, i) => i);
  // One nonce per value: a nonce is never reused under a data key, not even in a vector.
  const nonceOf = (n) => Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + 12 * n + i);
  const cases = [
    { binding: { scope: 'strict', namespace: 'prod', name: 'db' }, key: 'password', plaintext: Buffer.from('hunter2', 'utf8') },
    { binding: { scope: 'namespace', namespace: 'prod', name: 'db' }, key: 'tls.key', plaintext: Buffer.from([0xff, 0x00, 0xfe, 0x80, 0xc3, 0x28]) },
    { binding: { scope: 'cluster', namespace: '', name: 'db' }, key: 'EMPTY_VALUE', plaintext: Buffer.alloc(0) },
  ];
  const groupId = groupIdOf(dataKey);
  return {
    dataKey: hex(dataKey),
    groupId,
    commitment: keyCommitmentOf(dataKey),
    values: cases.map((c, n) => ({
      binding: c.binding,
      bindingText: bindingText(c.binding),
      key: c.key,
      plaintext: hex(c.plaintext),
      nonce: hex(nonceOf(n)),
      keyCheck: hex(keyCheckOf(dataKey, c.key)),
      aad: hex(valueAad(c.binding, groupId, c.key)),
      wrapLabel: hex(wrapLabel(c.binding)),
      sealedValue: encodeSealedValue({ groupId, sealed: encryptValue(dataKey, c.key, c.plaintext, valueAad(c.binding, groupId, c.key), () => nonceOf(n)) }),
    })),
  };
}

function secretDoc(name, namespace, data, extra = {}) {
  const metadata = namespace === '' ? { name } : { name, namespace };
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', ...extra, data };
}

async function seal(secret, scope, recipients) {
  const docs = parseDocuments(JSON.stringify(secret), 'vector');
  const [out] = await sealDocuments(docs, 'vector', { scope, wrappers: recipients });
  return out;
}

async function unseal(manifest, identities) {
  const [out] = await unsealDocuments(parseDocuments(JSON.stringify(manifest), 'vector'), 'vector', identities);
  return out;
}

const clone = (x) => JSON.parse(JSON.stringify(x));
const sortKeys = (x) => (x === null || typeof x !== 'object' || Array.isArray(x) ? x : Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])])));
const canonical = (x) => JSON.stringify(sortKeys(x));

/** Flips one bit of the sealed value at `key`: byte `at` of the body (negative counts from the end). */
function flipValue(manifest, key, at) {
  const m = clone(manifest);
  const [prefix, group, body] = m.spec.encryptedData[key].split(':');
  const bytes = Buffer.from(body, 'base64');
  bytes[at < 0 ? bytes.length + at : at] ^= 0x01;
  m.spec.encryptedData[key] = `${prefix}:${group}:${bytes.toString('base64')}`;
  return m;
}

function flipWrapped(manifest, recipient) {
  const m = clone(manifest);
  const r = m.spec.dataKeys[0].recipients[recipient];
  const bytes = Buffer.from(r.wrapped, 'base64');
  bytes[bytes.length >> 1] ^= 0x01;
  r.wrapped = bytes.toString('base64');
  return m;
}

/** `strict` with its group replaced by an attacker's: a 16-byte data key wrapped for `recipient`, everything else made to match it. */
async function shortKeyEnvelope(strict, recipient) {
  const m = clone(strict);
  const short = new Uint8Array(16).fill(0x5a);
  const binding = { scope: 'strict', namespace: 'prod', name: 'db' };
  const stanza = await recipient.wrap(short, binding);
  const group = groupIdOf(short);
  m.spec.dataKeys = [{ group, commitment: keyCommitmentOf(short), binding: 'strict/prod/db', recipients: [{ type: stanza.type, id: stanza.id, wrapped: b64(stanza.wrapped) }] }];
  const body = Buffer.concat([keyCheckOf(short, 'password'), Buffer.alloc(28, 0x11)]);
  m.spec.encryptedData = { password: `sb1:${group}:${body.toString('base64')}` };
  return m;
}

async function main() {
  const a = await ensureKey('a');
  const b = await ensureKey('b');
  const keys = { a: a.identity, b: b.identity };

  const { random, draws } = recordingRandom('sealbox test vectors');
  const fixedSecret = { name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', Buffer.from('fixed-random-password')], ['username', Buffer.from('admin')]]) };
  const fixedSealed = sealedManifest(await sealSecret(fixedSecret, { scope: 'strict', wrappers: [a.recipient], random }));
  writeFileSync(
    join(here, 'pure.json'),
    `${JSON.stringify({ ...pureVectors(), sealedWithRandom: { random: draws, secret: secretDoc('db', 'prod', { password: b64('fixed-random-password'), username: b64('admin') }), scope: 'strict', keys: ['a'], sealed: fixedSealed } }, null, 2)}\n`,
  );

  const strictSecret = secretDoc('db', 'prod', { password: b64('vector-password-strict'), username: b64('vector-user') });
  const strict = await seal(strictSecret, 'strict', [a.recipient]);
  const nsSecret = secretDoc('api', 'prod', { token: b64('vector-token-namespace') });
  const namespaced = await seal(nsSecret, 'namespace', [a.recipient]);
  const clusterSecret = secretDoc('shared', '', { license: b64('vector-license-cluster') }, { type: 'example.com/license', metadata: { name: 'shared', labels: { team: 'ops' } } });
  const cluster = await seal(clusterSecret, 'cluster', [a.recipient]);
  const twoSecret = secretDoc('two', 'prod', { key: b64('vector-two-recipients') });
  const two = await seal(twoSecret, 'strict', [a.recipient, b.recipient]);
  const binarySecret = secretDoc('bin', 'prod', { blob: Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80]).toString('base64'), empty: '' });
  const binary = await seal(binarySecret, 'strict', [a.recipient]);
  const mergedText = await mergeSecretsInto(
    JSON.stringify(strict),
    'vector',
    [{ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', Buffer.from('vector-password-merged')], ['host', Buffer.from('vector-host-merged')]]) }],
    { wrappers: [a.recipient] },
  );
  const merged = JSON.parse(mergedText);
  if (merged.spec.dataKeys.length !== 2) throw new Error('the merge vector must hold two groups');
  const mergedPlain = secretDoc('db', 'prod', { password: b64('vector-password-merged'), username: b64('vector-user'), host: b64('vector-host-merged') });
  const renamedNs = clone(namespaced);
  renamedNs.metadata.name = 'api-renamed';
  const movedCluster = clone(cluster);
  movedCluster.metadata.namespace = 'elsewhere';

  const positive = [
    { name: 'strict scope', keys: [['a']], sealed: strict, expected: strictSecret },
    { name: 'namespace scope', keys: [['a']], sealed: namespaced, expected: nsSecret },
    { name: 'namespace scope survives a rename', keys: [['a']], sealed: renamedNs, expected: { ...nsSecret, metadata: { name: 'api-renamed', namespace: 'prod' } } },
    { name: 'cluster scope', keys: [['a']], sealed: cluster, expected: clusterSecret },
    { name: 'cluster scope survives a move to another namespace', keys: [['a']], sealed: movedCluster, expected: { ...clusterSecret, metadata: { ...clusterSecret.metadata, namespace: 'elsewhere' } } },
    { name: 'two groups after --merge-into', keys: [['a']], sealed: merged, expected: mergedPlain },
    { name: 'two recipients, either key unseals', keys: [['a'], ['b'], ['b', 'a']], sealed: two, expected: twoSecret },
    { name: 'non-UTF-8 and empty values', keys: [['a']], sealed: binary, expected: binarySecret },
  ];

  // Another resource at the same place with the same recipient: its stanza wraps another data key.
  const otherAtSamePlace = await seal(secretDoc('db', 'prod', { other: b64('vector-other') }), 'strict', [a.recipient]);
  const bodyLength = Buffer.from(strict.spec.encryptedData.password.split(':')[2], 'base64').length;
  const negative = [];
  const add = (name, code, message, sealed, keyNames = ['a']) => negative.push({ name, keys: keyNames, code, message, sealed });
  add('bit flipped in ciphertext', 'TAMPERED', 'does not authenticate', flipValue(strict, 'password', 16));
  add('bit flipped in tag', 'TAMPERED', 'does not authenticate', flipValue(strict, 'password', -1));
  add('bit flipped in nonce', 'TAMPERED', 'does not authenticate', flipValue(strict, 'password', 4));
  // FORMAT.md section 4: a value is "moved from another key name" only when it
  // authenticates under that name; a key check matching no name is tampering.
  add('bit flipped in key check', 'TAMPERED', 'does not authenticate', flipValue(strict, 'password', 0));
  const moved = clone(strict);
  [moved.spec.encryptedData.password, moved.spec.encryptedData.username] = [moved.spec.encryptedData.username, moved.spec.encryptedData.password];
  add('values swapped between two key names', 'SCOPE', 'sealed under another key name', moved);
  const copied = clone(two);
  copied.spec.encryptedData.password = strict.spec.encryptedData.password;
  add('value copied into another resource', 'SCOPE', 'copied from another sealed secret', copied);
  const copiedWithGroup = clone(two);
  copiedWithGroup.spec.encryptedData.password = strict.spec.encryptedData.password;
  copiedWithGroup.spec.dataKeys.push(strict.spec.dataKeys[0]);
  add('value copied into another resource together with its group', 'SCOPE', 'bound to secret name "db"', copiedWithGroup);
  const disguised = clone(copiedWithGroup);
  disguised.spec.dataKeys[1].binding = 'strict/prod/two';
  add('value and group copied into another resource, group binding edited to match', 'TAMPERED', 'does not decrypt for this resource', disguised);
  const renamed = clone(strict);
  renamed.metadata.name = 'db2';
  add('strict resource renamed', 'SCOPE', 'bound to secret name "db"', renamed);
  const moveNs = clone(strict);
  moveNs.metadata.namespace = 'staging';
  add('strict resource moved to another namespace', 'SCOPE', 'bound to namespace "prod"', moveNs);
  const moveNsScope = clone(namespaced);
  moveNsScope.metadata.namespace = 'staging';
  add('namespace-scoped resource moved to another namespace', 'SCOPE', 'bound to namespace "prod"', moveNsScope);
  const widened = clone(strict);
  widened.spec.scope = 'cluster';
  add('scope widened from strict to cluster', 'SCOPE', 'scope "strict"', widened);
  const hidden = clone(strict);
  hidden.metadata.namespace = 'staging';
  hidden.spec.dataKeys[0].binding = 'strict/staging/db';
  add('moved to another namespace with the group binding edited to match', 'TAMPERED', 'does not decrypt for this resource', hidden);
  const hiddenScope = clone(strict);
  hiddenScope.spec.scope = 'namespace';
  hiddenScope.spec.dataKeys[0].binding = 'namespace/prod';
  add('scope widened with the group binding edited to match', 'TAMPERED', 'does not decrypt for this resource', hiddenScope);
  const editedBinding = clone(strict);
  editedBinding.spec.dataKeys[0].binding = 'strict/prod/other';
  add('group binding edited in place', 'SCOPE', 'bound to secret name "other"', editedBinding);
  const editedId = clone(strict);
  editedId.spec.dataKeys[0].recipients[0].id = `${'0'.repeat(63)}1`;
  add('recipient id edited', 'NO_KEY', 'none of your keys', editedId);
  add('recipient wrapped bytes flipped', 'TAMPERED', 'does not decrypt for this resource', flipWrapped(strict, 0));
  const removed = clone(two);
  removed.spec.dataKeys[0].recipients = removed.spec.dataKeys[0].recipients.filter((r) => r.id !== a.identity.fingerprint);
  add('recipient removed', 'NO_KEY', 'none of your keys', removed);
  const emptied = clone(strict);
  emptied.spec.dataKeys[0].recipients = [];
  add('every recipient removed', 'INPUT', 'recipients must be a non-empty list', emptied);
  const replaced = clone(strict);
  replaced.spec.dataKeys[0].recipients = otherAtSamePlace.spec.dataKeys[0].recipients;
  add('stanza replaced by one wrapping another data key', 'TAMPERED', 'commits to', replaced);
  const otherCommitment = clone(strict);
  otherCommitment.spec.dataKeys[0].commitment = otherAtSamePlace.spec.dataKeys[0].commitment;
  add('key commitment of another data key', 'TAMPERED', 'commits to', otherCommitment);
  const noCommitment = clone(strict);
  delete noCommitment.spec.dataKeys[0].commitment;
  add('key commitment removed', 'INPUT', 'commitment must be a non-empty string', noCommitment);
  // Invisible salamanders: one group, each recipient's stanza wrapping another data key.
  const salamander = clone(two);
  const ofB = salamander.spec.dataKeys[0].recipients.findIndex((r) => r.id === b.identity.fingerprint);
  salamander.spec.dataKeys[0].recipients[ofB] = (await seal(secretDoc('two', 'prod', { key: b64('vector-other') }), 'strict', [b.recipient])).spec.dataKeys[0].recipients[0];
  add('recipients of one group wrap different data keys', 'TAMPERED', 'commits to', salamander, ['b']);
  add('data key of 16 bytes, with its own group id, commitment and key check', 'TAMPERED', 'data key is 16 bytes, not 32', await shortKeyEnvelope(strict, a.recipient));
  const noGroup = clone(strict);
  noGroup.spec.dataKeys = [];
  add('data-key group removed', 'SCOPE', 'copied from another sealed secret', noGroup);
  const cut = clone(strict);
  const [p, g, body] = cut.spec.encryptedData.password.split(':');
  cut.spec.encryptedData.password = `${p}:${g}:${Buffer.from(body, 'base64').subarray(0, 31).toString('base64')}`;
  add('value truncated below the minimum length', 'INPUT', 'truncated', cut);
  if (bodyLength <= 36) throw new Error('the strict password must be long enough to truncate');
  const shortened = clone(strict);
  shortened.spec.encryptedData.password = `${p}:${g}:${Buffer.from(body, 'base64').subarray(0, bodyLength - 4).toString('base64')}`;
  add('value truncated by four bytes', 'TAMPERED', 'does not authenticate', shortened);
  const v2 = clone(strict);
  v2.apiVersion = 'sealbox.dev/v2';
  add('unknown apiVersion', 'INPUT', 'upgrade sealbox', v2);
  const unknownType = clone(two);
  unknownType.spec.dataKeys[0].recipients[1].type = 'gcp-kms';
  add('unknown recipient type', 'INPUT', 'type must be one of', unknownType);
  add('unsealed with a key that is not a recipient', 'NO_KEY', 'none of your keys', strict, ['b']);

  let bad = 0;
  for (const v of positive) {
    for (const ks of v.keys) {
      const got = await unseal(v.sealed, ks.map((k) => keys[k]));
      if (canonical(got) !== canonical(v.expected)) {
        console.error(`positive vector "${v.name}" with keys ${ks} unseals to ${JSON.stringify(got)}`);
        bad++;
      }
    }
  }
  for (const v of negative) {
    try {
      await unseal(v.sealed, v.keys.map((k) => keys[k]));
      console.error(`negative vector "${v.name}" unsealed`);
      bad++;
    } catch (err) {
      if (!isSealboxError(err) || err.code !== v.code || !err.message.includes(v.message)) {
        console.error(`negative vector "${v.name}": want ${v.code} "${v.message}", got ${err.code}: ${err.message}`);
        bad++;
      }
    }
  }
  writeFileSync(join(here, 'envelopes.json'), `${JSON.stringify({ positive, negative }, null, 2)}\n`);
  console.log(`wrote ${positive.length} positive and ${negative.length} negative envelopes`);
  if (bad > 0) {
    console.error(`${bad} vector(s) disagree with the build`);
    process.exitCode = 1;
  }
}

await main();
