/**
 * What a sealed resource's template may ask the controller to write. The
 * template is plaintext and unauthenticated: whoever can create a sealed
 * resource chooses it. So the controller refuses the few Secrets that would
 * turn its write rights into something more (docs/SECURITY.md, 1a.4c, 1a.4d).
 */
import { SealboxError } from '../errors.js';
import type { SecretTemplate } from './sealed.js';

/** The label and annotation prefix sealbox keeps for itself, subdomains included. */
export const RESERVED_PREFIX = 'sealbox.dev';

/** Label the controller puts on every Secret it writes; `seal` drops it from its input. */
export const MANAGED_LABEL = 'sealbox.dev/managed-by';

/**
 * Secret types the controller never writes: kube-controller-manager fills a
 * `kubernetes.io/service-account-token` Secret with a token of the service
 * account it names, which whoever made the controller write it could read.
 */
export const FORBIDDEN_TYPES: readonly string[] = ['kubernetes.io/service-account-token'];

/** True when a label or annotation key has the reserved prefix `sealbox.dev/` (or `*.sealbox.dev/`). */
export function isReservedKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash).toLowerCase();
  return prefix === RESERVED_PREFIX || prefix.endsWith(`.${RESERVED_PREFIX}`);
}

/**
 * Checks that a template asks for a Secret the controller may write: not a
 * forbidden type, no label or annotation under the reserved prefix (sealing
 * keys are Secrets labelled `sealbox.dev/sealing-key`). `field` names the
 * template in messages. Throws SealboxError('INPUT') saying which field and why.
 */
export function checkTemplate(t: SecretTemplate, what: string, field: string): void {
  if (FORBIDDEN_TYPES.includes(t.type)) {
    throw new SealboxError(
      'INPUT',
      `${what}: ${field}.type "${t.type}" is refused: kube-controller-manager would fill the Secret with a service-account token; create such Secrets directly, not through sealbox`,
    );
  }
  for (const [kind, map] of [['labels', t.labels], ['annotations', t.annotations]] as const) {
    const key = Object.keys(map).find(isReservedKey);
    if (key !== undefined) {
      throw new SealboxError(
        'INPUT',
        `${what}: ${field}.metadata.${kind} "${key.slice(0, 128)}" uses the prefix ${RESERVED_PREFIX}/, which is reserved for sealbox itself; remove it`,
      );
    }
  }
}
