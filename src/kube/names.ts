/**
 * Names the controller and the CLI share: the sealed resource's API group,
 * version and plural, and the controller's public ConfigMap with its rotate
 * annotation. Plain constants, so the CLI can import them without loading
 * the Kubernetes client.
 */

/** API group of sealed resources. */
export const SEALED_GROUP = 'sealbox.dev';
/** API version of sealed resources. */
export const SEALED_VERSION = 'v1';
/** Resource plural of sealed resources. */
export const SEALED_PLURAL = 'sealedsecrets';

/** Name of the controller's public ConfigMap with the certificates. */
export const CERTS_CONFIGMAP = 'sealbox-certs';
/** Annotation on the ConfigMap: set it to a new value to ask for a new key now. */
export const ROTATE_ANNOTATION = 'sealbox.dev/rotate-requested';

/** A custom resource's API group, version and plural. */
export interface CustomResource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** sealbox's sealed resources. */
export const SEALED_RESOURCE: CustomResource = { group: SEALED_GROUP, version: SEALED_VERSION, plural: SEALED_PLURAL };
/** Sealed Secrets' SealedSecrets, reconciled in compatibility mode (`--sealed-secrets-compat`). */
export const BITNAMI_RESOURCE: CustomResource = { group: 'bitnami.com', version: 'v1alpha1', plural: 'sealedsecrets' };
