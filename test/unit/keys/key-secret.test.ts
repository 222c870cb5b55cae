import { describe, expect, it } from 'vitest';
import { parseKeySecret } from '../../../src/keys/key-secret.js';
import { expectSealboxError } from '../../helpers/errors.js';
import { vectorKey } from '../../helpers/keys.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('parseKeySecret', () => {
  const a = vectorKey('a');
  const b = vectorKey('b');

  it('returns the certificate, the key and their fingerprint when they belong together', () => {
    const k = parseKeySecret({ name: 'sealbox-key-a', data: { 'tls.crt': b64(a.certPem), 'tls.key': b64(a.keyPem) } });

    expect(k.certificatePem).toBe(a.certPem);
    expect(k.fingerprint).toBe(k.identity.fingerprint);
    expect(k.recipient.recipient.id).toBe(k.fingerprint);
  });

  it.each([
    ['no tls.key', { 'tls.crt': b64(a.certPem) }, 'ns: key secret "k" lacks tls.crt or tls.key'],
    ['no tls.crt', { 'tls.key': b64(a.keyPem) }, 'ns: key secret "k" lacks tls.crt or tls.key'],
    ['a tls.key that is not a key', { 'tls.crt': b64(a.certPem), 'tls.key': b64('junk') }, 'ns: key secret "k" tls.key: not a PEM RSA private key'],
    ['a tls.crt that is not a certificate', { 'tls.crt': b64('junk'), 'tls.key': b64(a.keyPem) }, 'ns: key secret "k" tls.crt: not a PEM X.509 certificate'],
    ['a certificate of another key', { 'tls.crt': b64(b.certPem), 'tls.key': b64(a.keyPem) }, 'ns: key secret "k": tls.crt does not belong to tls.key'],
  ])('refuses %s with INPUT, naming the secret and not the key', (_, data, message) => {
    expectSealboxError(() => parseKeySecret({ name: 'k', data }, 'ns'), 'INPUT', message, { secrets: [a.keyPem.split('\n')[1] ?? ''] });
  });
});
