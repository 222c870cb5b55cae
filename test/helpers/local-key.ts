import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { bindingText } from '../../src/crypto/binding.js';
import type { Binding, KeyUnwrapper, KeyWrapper, RecipientRef, WrappedKey } from '../../src/crypto/types.js';
import { SealboxError } from '../../src/errors.js';

/**
 * A real, fast key provider for tests that need many seal operations: it
 * wraps data keys with AES-256-GCM under a secret key held in memory, the
 * binding text as additional data. It honours the KeyUnwrapper contract:
 * null for another recipient's stanza, TAMPERED when its own does not open.
 */
export class LocalKey implements KeyWrapper, KeyUnwrapper {
  readonly recipient: RecipientRef;
  readonly description: string;
  unwraps = 0;
  readonly #secret = randomBytes(32);

  constructor(id: string) {
    this.recipient = { type: 'aws-kms', id: `arn:aws:kms:eu-west-1:000000000000:key/${id}` };
    this.description = `local:${id}`;
  }

  wrap(dataKey: Uint8Array, binding: Binding): Promise<WrappedKey> {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#secret, nonce);
    cipher.setAAD(Buffer.from(bindingText(binding)));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Promise.resolve({ ...this.recipient, wrapped: new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()])) });
  }

  unwrap(stanza: WrappedKey, binding: Binding): Promise<Uint8Array | null> {
    if (stanza.type !== this.recipient.type || stanza.id !== this.recipient.id) return Promise.resolve(null);
    this.unwraps++;
    const w = Buffer.from(stanza.wrapped);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#secret, w.subarray(0, 12));
      decipher.setAAD(Buffer.from(bindingText(binding)));
      decipher.setAuthTag(w.subarray(w.length - 16));
      return Promise.resolve(new Uint8Array(Buffer.concat([decipher.update(w.subarray(12, w.length - 16)), decipher.final()])));
    } catch {
      return Promise.reject(new SealboxError('TAMPERED', 'local key: the wrapped data key does not open'));
    }
  }
}
