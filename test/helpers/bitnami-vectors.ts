// SealedSecrets made by the real kubeseal v0.36.6 (test/vectors/bitnami/,
// remade by generate.sh there), and the values sealed in them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** A bitnami.com/v1alpha1 SealedSecret, as far as the tests read it. */
export interface BitnamiSealed {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: { encryptedData: Record<string, string>; template?: unknown; data?: unknown };
}

/**
 * Reads one vector file of test/vectors/bitnami/.
 * @param file - its name, e.g. "a.strict.yaml"
 */
export function bitnamiVector(file: string): BitnamiSealed {
  return parse(readFileSync(fileURLToPath(new URL(`../vectors/bitnami/${file}`, import.meta.url)), 'utf8')) as BitnamiSealed;
}

/** The values every vector seals (test/vectors/bitnami/secret.yaml). */
export const BITNAMI_PLAINTEXT: Readonly<Record<string, Buffer>> = {
  password: Buffer.from('hunter2'),
  empty: Buffer.alloc(0),
  unicode: Buffer.from('pässwörd ✓'),
  binary: Buffer.from('AP8Q7oCAwMH+/w==', 'base64'),
};
