import type { KeyUnwrapper } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import { looksLikeSecret, nestedSecretPaths } from './lists.js';
import { isObject } from './object.js';
import type { SealOptions } from './seal.js';
import { sealSecret, unsealSealedSecret } from './seal.js';
import type { SealedSecret } from './sealed.js';
import { isSealedManifest, parseSealedSecret, sealedManifest } from './sealed.js';
import type { SecretData } from './secret.js';
import { expandLists, isSecretManifest, parseSecret, secretManifest } from './secret.js';
import type { SourceDocument } from './yaml.js';

/** A document to seal: its 1-based position in the input and its plain value (a parsed SourceDocument, or one built in memory). */
export type InputDocument = Pick<SourceDocument, 'index' | 'value'>;

/** Overrides for sealing: where the Secret goes when its manifest does not say. */
export interface PlacementOptions {
  readonly namespace?: string;
  readonly name?: string;
  /** Called with each Secret sealed, e.g. to self-check the output for its values (checkNoPlaintext). */
  readonly seen?: (secret: SecretData) => void;
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
      throw new SealboxError('INPUT', `${what}: manifest says namespace "${namespace}" but "${place.namespace}" is asked for`, { hint: { kind: 'namespace-conflict' } });
    }
    namespace = place.namespace;
  }
  if (place.name !== undefined) name = place.name;
  return { ...s, namespace, name };
}

/**
 * Refuses an object that would reach the output with a Secret and its values
 * inside it (in a field, or in a string holding JSON): Kubernetes tools may
 * create it, or a reader may read it. Throws SealboxError('INPUT').
 */
function refuseNestedSecrets(value: unknown, what: string): void {
  const [first] = nestedSecretPaths(value);
  if (first !== undefined) {
    throw new SealboxError('INPUT', `${what} holds a Secret with values at ${first}, which sealbox would not seal; take the Secret out as a document of its own`);
  }
}

/** What an input holds, for seal: Secrets to seal, resources already sealed, the other kinds. */
export interface InputSummary {
  readonly secrets: number;
  readonly sealed: number;
  /** Other objects, as `Kind "name"`, in input order. */
  readonly others: readonly string[];
}

/** Counts the Secrets (List items included) in `docs`, the sealed resources and the other objects. */
export function summarizeInput(docs: readonly InputDocument[]): InputSummary {
  let secrets = 0;
  let sealed = 0;
  const others: string[] = [];
  for (const value of expandLists(docs.map((d) => d.value))) {
    if (isSecretManifest(value) || looksLikeSecret(value)) secrets++;
    else if (isSealedManifest(value)) sealed++;
    else if (isObject(value)) {
      const name = isObject(value.metadata) && typeof value.metadata.name === 'string' ? ` "${value.metadata.name.slice(0, 64)}"` : '';
      others.push(`${typeof value.kind === 'string' ? value.kind.slice(0, 64) : 'object'}${name}`);
    }
  }
  return { secrets, sealed, others };
}

/**
 * Remembers where each Secret of one input lands. Throws SealboxError('INPUT')
 * when a second one lands on the same namespace and name: the cluster would
 * keep only one of them.
 */
class Placements {
  readonly #seen = new Map<string, string>();

  claim(namespace: string, name: string, what: string): void {
    const key = `${namespace}/${name}`;
    const first = this.#seen.get(key);
    if (first !== undefined) {
      throw new SealboxError('INPUT', `${what} has the same namespace and name as ${first}; the cluster keeps only one of them: rename one, or remove it`);
    }
    this.#seen.set(key, what);
  }
}

/**
 * Seals every Secret in `docs`, also the items of lists of any shape and
 * depth (each becomes a document of its own); documents that are already
 * sealed, and other Kubernetes objects, pass through unchanged in place.
 * Returns the output documents in input order. Throws SealboxError('INPUT')
 * for a document that looks like a Secret but is not a valid v1 Secret, and
 * for any other object with a Secret and its values nested inside, so
 * plaintext never passes through; for `--name` given to an input with
 * several Secrets; and for two Secrets (or sealed resources) with one
 * namespace and name.
 */
export async function sealDocuments(
  docs: readonly InputDocument[],
  source: string,
  opts: SealOptions & PlacementOptions,
): Promise<unknown[]> {
  const count = summarizeInput(docs).secrets;
  if (opts.name !== undefined && count > 1) {
    throw new SealboxError('INPUT', `${source}: name "${opts.name}" would give its ${count} Secrets one name`, { hint: { kind: 'name-for-several' } });
  }
  const out: unknown[] = [];
  const placements = new Placements();
  for (const d of docs) {
    for (const value of expandLists([d.value], `${source} document ${d.index}`)) {
      const what = describeDocument(source, d.index, value);
      if (isSecretManifest(value) || looksLikeSecret(value)) {
        const secret = placeSecret(parseSecret(value, what), opts, what);
        refuseNestedSecrets({ metadata: { labels: secret.labels, annotations: secret.annotations } }, what);
        if (opts.scope !== 'cluster' && secret.namespace === '') {
          throw new SealboxError('INPUT', `${what}: no namespace, and ${opts.scope} scope binds the namespace`, { hint: { kind: 'namespace-missing' } });
        }
        placements.claim(secret.namespace, secret.name, what);
        opts.seen?.(secret);
        out.push(sealedManifest(await sealSecret(secret, opts)));
      } else if (isSealedManifest(value)) {
        refuseNestedSecrets(value, what);
        const meta = isObject(value.metadata) ? value.metadata : {};
        placements.claim(typeof meta.namespace === 'string' ? meta.namespace : (opts.namespace ?? ''), typeof meta.name === 'string' ? meta.name : '', what);
        out.push(value);
      } else if (isObject(value) && typeof value.kind === 'string' && typeof value.apiVersion === 'string') {
        refuseNestedSecrets(value, what);
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
    for (const value of expandLists([d.value], `${source} document ${d.index}`)) {
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
