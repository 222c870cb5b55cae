import type { KeyUnwrapper } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import { isObject } from './object.js';
import type { SealOptions } from './seal.js';
import { sealSecret, unsealSealedSecret } from './seal.js';
import type { SealedSecret } from './sealed.js';
import { isSealedManifest, parseSealedSecret, sealedManifest } from './sealed.js';
import type { SecretData } from './secret.js';
import { expandLists, isSecretManifest, parseSecret, secretManifest } from './secret.js';
import type { SourceDocument } from './yaml.js';

/** Overrides for sealing: where the Secret goes when its manifest does not say. */
export interface PlacementOptions {
  readonly namespace?: string;
  readonly name?: string;
}

/** Names a document in messages: `FILE document N (secret "NS/NAME")`. */
export function describeDocument(source: string, index: number, value: unknown): string {
  const meta = isObject(value) && isObject(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return name === '' ? `${source} document ${index}` : `${source} document ${index} ("${ns}${name}")`;
}

/**
 * Applies --namespace / --name to a Secret. Throws SealboxError('INPUT') when
 * the manifest already says something else, so nothing is sealed for the
 * wrong place by accident.
 */
export function placeSecret(s: SecretData, place: PlacementOptions, what: string): SecretData {
  let { namespace, name } = s;
  if (place.namespace !== undefined) {
    if (namespace !== '' && namespace !== place.namespace) {
      throw new SealboxError('INPUT', `${what}: manifest says namespace "${namespace}" but --namespace says "${place.namespace}"; remove one`);
    }
    namespace = place.namespace;
  }
  if (place.name !== undefined) name = place.name;
  return { ...s, namespace, name };
}

/** Returns true for a document that must not pass through sealing unsealed. */
function looksLikeSecret(v: unknown): boolean {
  return isObject(v) && typeof v.kind === 'string' && v.kind.toLowerCase() === 'secret';
}

/**
 * Seals every Secret in `docs`; documents that are already sealed, and other
 * Kubernetes objects, pass through unchanged in place. Returns the output
 * documents in input order. Throws SealboxError('INPUT') for a document that
 * looks like a Secret but is not a valid v1 Secret, so plaintext never
 * passes through.
 */
export async function sealDocuments(
  docs: readonly SourceDocument[],
  source: string,
  opts: SealOptions & PlacementOptions,
): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const d of docs) {
    for (const value of expandLists([d.value])) {
      const what = describeDocument(source, d.index, value);
      if (isSecretManifest(value) || looksLikeSecret(value)) {
        const secret = placeSecret(parseSecret(value, what), opts, what);
        if (opts.scope !== 'cluster' && secret.namespace === '') {
          throw new SealboxError('INPUT', `${what}: no namespace, and ${opts.scope} scope binds the namespace; set metadata.namespace or pass --namespace`);
        }
        out.push(sealedManifest(await sealSecret(secret, opts)));
      } else if (isSealedManifest(value) || (isObject(value) && typeof value.kind === 'string' && typeof value.apiVersion === 'string')) {
        out.push(value);
      } else {
        throw new SealboxError('INPUT', `${what} is not a Kubernetes object (no apiVersion/kind); give a Secret manifest`);
      }
    }
  }
  return out;
}

/** Parses a sealed document, naming it in errors. */
export function parseSealedDocument(value: unknown, source: string, index: number): { sealed: SealedSecret; what: string } {
  const what = describeDocument(source, index, value);
  return { sealed: parseSealedSecret(value, what), what };
}

/**
 * Unseals every sealed resource in `docs` into a Secret manifest; other
 * documents pass through. Throws the first SealboxError met.
 */
export async function unsealDocuments(docs: readonly SourceDocument[], source: string, unwrappers: readonly KeyUnwrapper[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const d of docs) {
    for (const value of expandLists([d.value])) {
      if (isSealedManifest(value)) {
        const { sealed, what } = parseSealedDocument(value, source, d.index);
        out.push(secretManifest(await unsealSealedSecret(sealed, unwrappers, what)));
      } else {
        out.push(value);
      }
    }
  }
  return out;
}
