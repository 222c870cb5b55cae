import fc from 'fast-check';
import type { RecipientType, Scope, WrappedKey } from '../../src/crypto/types.js';
import type { SealedValue } from '../../src/crypto/value.js';
import type { SealedGroup, SealedSecret } from '../../src/format/sealed.js';
import type { SecretData } from '../../src/format/secret.js';

/** A DNS-1123 label: a valid namespace. */
export const namespaceArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?$/);

/** A DNS-1123 subdomain: a valid object name. */
export const objectNameArb = fc.array(namespaceArb, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));

/**
 * A valid Secret data key, including the odd ones (`.x`, `...`, `-`).
 * `__proto__` is refused (sealed.test.ts, secret.test.ts).
 */
export const dataKeyArb = fc.oneof(
  fc.stringMatching(/^[-._a-zA-Z0-9]{1,40}$/).filter((k) => k !== '.' && k !== '..' && k !== '__proto__'),
  fc.constantFrom('.dockerconfigjson', 'tls.crt', '...', '-', '_', 'A', '0', '123', 'constructor', 'toString', 'hasOwnProperty'),
);

export const scopeArb: fc.Arbitrary<Scope> = fc.constantFrom('strict', 'namespace', 'cluster');

/** Strings for labels and annotations, including YAML look-alikes that must stay strings. */
const metaTextArb = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('yes', 'no', 'null', '~', '0x1F', '1e3', '- a', ': b', '#c', "'q'", '"dq"', ' lead', 'trail ', 'multi\nline'));
// sealbox.dev/ keys are reserved in templates (sealed.test.ts, seal.test.ts)
const metaKeyArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9./]{0,20}[a-z0-9])?$/).filter((k) => !/^([^/]*\.)?sealbox\.dev\//.test(k));
export const stringMapArb = fc.dictionary(metaKeyArb, metaTextArb, { maxKeys: 4 });

const groupIdArb = fc.stringMatching(/^[0-9a-f]{16}$/);

const recipientArb: fc.Arbitrary<WrappedKey> = fc
  .tuple(fc.constantFrom<RecipientType>('cert', 'aws-kms', 'azure-kv'), fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ minLength: 1, maxLength: 80 }), fc.uint8Array({ minLength: 1, maxLength: 600 }))
  .map(([type, fingerprint, other, wrapped]) => ({ type, id: type === 'cert' ? fingerprint : other, wrapped }));

const groupArb = (id: string): fc.Arbitrary<SealedGroup> =>
  fc.record({
    id: fc.constant(id),
    commitment: fc.stringMatching(/^[0-9a-f]{64}$/),
    binding: fc.string({ minLength: 1, maxLength: 60 }),
    recipients: fc.array(recipientArb, { minLength: 1, maxLength: 3 }),
  });

/** Any sealed resource that parseSealedSecret must accept (crypto aside). */
export const sealedSecretArb: fc.Arbitrary<SealedSecret> = fc
  .uniqueArray(groupIdArb, { maxLength: 3 })
  .chain((ids) =>
    fc.record({
      name: objectNameArb,
      namespace: fc.oneof(fc.constant(''), namespaceArb),
      labels: stringMapArb,
      annotations: stringMapArb,
      scope: scopeArb,
      template: fc.record(
        { type: fc.string({ minLength: 1, maxLength: 30 }), immutable: fc.boolean(), labels: stringMapArb, annotations: stringMapArb },
        { requiredKeys: ['type', 'labels', 'annotations'] },
      ),
      encryptedData:
        ids.length === 0
          ? fc.constant(new Map<string, SealedValue>())
          : fc
              .array(fc.tuple(dataKeyArb, fc.constantFrom(...ids), fc.uint8Array({ minLength: 32, maxLength: 100 })), { maxLength: 5 })
              .map((entries) => new Map(entries.map(([k, groupId, sealed]) => [k, { groupId, sealed }]))),
      dataKeys: fc.tuple(...ids.map(groupArb)).map((gs) => [...gs]),
    }),
  );

/** Any Secret sealbox must seal and unseal unchanged: arbitrary bytes under arbitrary valid keys. */
export const secretDataArb = (scope: Scope): fc.Arbitrary<SecretData> =>
  fc.record({
    name: objectNameArb,
    namespace: scope === 'cluster' ? fc.oneof(fc.constant(''), namespaceArb) : namespaceArb,
    type: fc.constantFrom('Opaque', 'kubernetes.io/tls', 'example.com/custom'),
    labels: stringMapArb,
    annotations: stringMapArb,
    data: fc.array(fc.tuple(dataKeyArb, fc.uint8Array({ maxLength: 200 })), { maxLength: 6 }).map((e) => new Map(e)),
  });
