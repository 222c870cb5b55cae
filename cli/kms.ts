/**
 * KMS keys for the CLI. The providers (and through them the SDKs) are loaded
 * with import() only when a command meets a KMS spec or stanza, so sealing
 * with certificates alone never pays for them.
 */
import type { KeyUnwrapper, KeyWrapper } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import type { SealedSecret } from '../src/format/sealed.js';
import type { KmsStanzaUnwrapper } from '../src/keys/kms-unwrapper.js';
import { loadCertificate } from './recipients.js';

/** True when the spec names a KMS key (`aws:…`, `azure:…`). */
export function isKmsSpec(spec: string): boolean {
  return spec.startsWith('aws:') || spec.startsWith('azure:');
}

/**
 * Returns the keys of `--kms` specs, with each provider's default credential
 * chain and the endpoint and TLS settings of the environment (docs/KMS.md).
 * Throws SealboxError('INPUT') for a malformed spec.
 */
export async function kmsWrappers(specs: readonly string[]): Promise<KeyWrapper[]> {
  if (specs.length === 0) return [];
  const { kmsKeyFromSpec, kmsOptionsFromEnv } = await import('../src/keys/kms-spec.js');
  const options = kmsOptionsFromEnv(process.env);
  return Promise.all(specs.map((s) => {
    if (!isKmsSpec(s)) return Promise.reject(new SealboxError('INPUT', `--kms ${s.slice(0, 80)}: use aws:KEY_ARN_OR_ALIAS or azure:https://VAULT/keys/NAME[/VERSION]`));
    return kmsKeyFromSpec(s, options);
  }));
}

/**
 * Returns the wrappers of recipient specs as `.sealbox.yaml` writes them:
 * `cert:PATH_OR_URL`, `aws:…`, `azure:…`. Throws SealboxError('INPUT') for
 * anything else, and what loading a certificate throws.
 */
export async function recipientWrappers(specs: readonly string[]): Promise<KeyWrapper[]> {
  const certs = specs.filter((s) => s.startsWith('cert:')).map((s) => s.slice('cert:'.length));
  const kms = specs.filter((s) => !s.startsWith('cert:'));
  return [...(await Promise.all(certs.map(loadCertificate))), ...(await kmsWrappers(kms))];
}

/** An unwrapper for every KMS stanza, using the key each stanza names. */
export async function kmsStanzaUnwrapper(): Promise<KmsStanzaUnwrapper> {
  const [{ KmsStanzaUnwrapper: Unwrapper }, { kmsOptionsFromEnv }] = await Promise.all([
    import('../src/keys/kms-unwrapper.js'),
    import('../src/keys/kms-spec.js'),
  ]);
  return new Unwrapper({ options: kmsOptionsFromEnv(process.env) });
}

/** True when some group of the resource has a KMS stanza. */
export function hasKmsStanza(s: SealedSecret): boolean {
  return s.dataKeys.some((g) => g.recipients.some((r) => r.type !== 'cert'));
}

/**
 * Returns the unwrappers of a command that unseals: the private keys given
 * (tried first: no network), then, when some resource has KMS stanzas, one
 * that unwraps them with the keys they name.
 */
export async function unsealUnwrappers(keys: readonly KeyUnwrapper[], sealed: readonly SealedSecret[]): Promise<KeyUnwrapper[]> {
  return sealed.some(hasKmsStanza) ? [...keys, await kmsStanzaUnwrapper()] : [...keys];
}
