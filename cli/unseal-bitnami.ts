/**
 * `sealbox unseal` of Sealed Secrets' (kubeseal's) SealedSecrets, offline,
 * with the Sealed Secrets private keys given as --key (PEM): every key is
 * tried on every value, as Sealed Secrets does.
 */
import { createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decryptBitnamiValue } from '../src/crypto/bitnami.js';
import { SealboxError } from '../src/errors.js';
import { BITNAMI_API_VERSION, BITNAMI_KIND, parseBitnamiSealed, unsealBitnami } from '../src/format/bitnami.js';
import { describeDocument } from '../src/format/documents.js';
import { isObject } from '../src/format/object.js';
import { expandLists } from '../src/format/secret.js';
import type { SourceDocument } from '../src/format/yaml.js';
import { readText } from './io.js';

/** True when `v` is a Sealed Secrets SealedSecret. */
export function isBitnamiSealed(v: unknown): boolean {
  return isObject(v) && v.kind === BITNAMI_KIND && v.apiVersion === BITNAMI_API_VERSION;
}

async function rsaKeys(files: readonly string[]): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const file of files) {
    try {
      const key = createPrivateKey(await readText(file));
      if (key.asymmetricKeyType === 'rsa') keys.push(key);
    } catch {
      // not a PEM private key (a certificate, an EC key): not one of Sealed Secrets' keys
    }
  }
  if (keys.length === 0) throw new SealboxError('INPUT', 'no RSA private key among --key: Sealed Secrets resources need the private key of the Sealed Secrets controller (tls.key of its key Secret)', { hint: { kind: 'private-key-missing' } });
  return keys;
}

/**
 * Returns the documents with every Sealed Secrets SealedSecret replaced by
 * the Secret it unseals to (other documents as they are), or undefined when
 * there is none. Throws SealboxError('NO_KEY') naming the values no key opens.
 */
export async function unsealBitnamiDocuments(docs: readonly SourceDocument[], source: string, keyFiles: readonly string[]): Promise<unknown[] | undefined> {
  if (!docs.some((d) => expandLists([d.value]).some(isBitnamiSealed))) return undefined;
  const keys = await rsaKeys(keyFiles);
  const open = (value: Uint8Array, label: Uint8Array): Promise<Uint8Array | null> => {
    for (const key of keys) {
      const plain = decryptBitnamiValue(key, value, label);
      if (plain !== null) return Promise.resolve(plain);
    }
    return Promise.resolve(null);
  };
  const out: unknown[] = [];
  for (const d of docs) {
    for (const v of expandLists([d.value])) {
      if (!isBitnamiSealed(v)) {
        out.push(v);
        continue;
      }
      const what = describeDocument(source, d.index, v);
      const sealed = parseBitnamiSealed(v, what);
      const s = await unsealBitnami(sealed, open, what);
      const metadata = { name: sealed.name, ...(sealed.namespace === '' ? {} : { namespace: sealed.namespace }), ...(s.labels === undefined ? {} : { labels: s.labels }), ...(s.annotations === undefined ? {} : { annotations: s.annotations }) };
      out.push({ apiVersion: 'v1', kind: 'Secret', metadata, type: s.type ?? 'Opaque', ...(s.immutable === undefined ? {} : { immutable: s.immutable }), data: s.data });
    }
  }
  return out;
}
