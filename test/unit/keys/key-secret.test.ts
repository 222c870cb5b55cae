import { describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { parseKeySecret } from '../../../src/keys/key-secret.js';
import { vectorKey } from '../../helpers/keys.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function refusal(f: () => unknown): SealboxError {
  try {
    f();
  } catch (err) {
    if (err instanceof SealboxError) return err;
    throw err;
  }
  throw new Error('no error');
}

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
    const err = refusal(() => parseKeySecret({ name: 'k', data }, 'ns'));

    expect(err.code).toBe('INPUT');
    expect(err.message).toContain(message);
    expect(err.message).not.toContain(a.keyPem.split('\n')[1]);
  });
});
