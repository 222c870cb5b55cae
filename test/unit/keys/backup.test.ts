import { describe, expect, it } from 'vitest';
import { expectSealboxError } from '../../helpers/errors.js';
import type { KeySecret } from '../../../src/keys/backup.js';
import { buildBackup, chunkText, parseBackup } from '../../../src/keys/backup.js';
import { CREATED_AT_ANNOTATION } from '../../../src/keys/key-secret.js';
import { vectorKey } from '../../helpers/keys.js';

function keySecret(name: 'a' | 'b', created: string): KeySecret {
  const k = vectorKey(name);
  return {
    name: `sealbox-key-${name}`, labels: { 'sealbox.dev/sealing-key': 'true' }, annotations: {}, type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(k.certPem).toString('base64'), 'tls.key': Buffer.from(k.keyPem).toString('base64') },
    creationTimestamp: created,
  };
}

describe('key backups', () => {
  it('round-trips keys oldest first, keeping each key\'s original creation time', () => {
    const text = buildBackup([keySecret('b', '2026-02-01T00:00:00Z'), keySecret('a', '2026-01-01T00:00:00Z')], 'sealbox-system');

    const keys = parseBackup(text, 'backup.yaml');

    expect(text.startsWith('# sealbox sealing-key backup: PRIVATE KEYS')).toBe(true);
    expect(keys.map((k) => k.secret.name)).toEqual(['sealbox-key-a', 'sealbox-key-b']);
    expect(keys.map((k) => k.secret.annotations[CREATED_AT_ANNOTATION])).toEqual(['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z']);
    expect(keys[0]?.secret.data).toEqual(keySecret('a', '').data);
  });

  it('refuses a key whose certificate belongs to another key, naming the secret but not the key', () => {
    const a = keySecret('a', '2026-01-01T00:00:00Z');
    const mixed = { ...a, data: { ...a.data, 'tls.crt': keySecret('b', '').data['tls.crt'] ?? '' } };

    expectSealboxError(() => buildBackup([mixed], 'ns'), 'INPUT', 'key secret "sealbox-key-a": tls.crt does not belong to tls.key', { secrets: [a.data['tls.key']?.slice(0, 40) ?? ''] });
  });

  it.each([
    ['an empty namespace', () => buildBackup([], 'ns'), 'no sealing keys in namespace "ns"'],
    ['a document that is no Secret', () => parseBackup('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', 'f'), 'is not a v1 Secret'],
    ['a Secret without the sealing-key label', () => parseBackup('apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {}\n', 'f'), 'is not a sealing key'],
    ['an empty file', () => parseBackup('', 'f'), 'no sealing keys in it'],
  ])('refuses %s as INPUT', (_name, f, message) => {
    expectSealboxError(f, 'INPUT', message);
  });

  it('splits text into parts of at most the given size that join back to it', () => {
    const text = 'x'.repeat(45_001);
    const parts = chunkText(text, 20_000);
    expect(parts.map((p) => p.length)).toEqual([20_000, 20_000, 5001]);
    expect(parts.join('')).toBe(text);
  });
});
