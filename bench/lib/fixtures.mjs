// Benchmark inputs: Secrets with five values of realistic sizes.
import { randomBytes } from 'node:crypto';

// not under sealbox.dev/: sealbox refuses its own prefix (and subdomains of it) in templates
export const SET_LABEL = 'bench.example.com/set';

/** One Secret manifest (YAML text) with five values. */
export function secretYaml(namespace, name, set) {
  const pw = randomBytes(24).toString('base64url');
  const user = `app-${name}`;
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    '  labels:',
    `    ${SET_LABEL}: ${set}`,
    'type: Opaque',
    'stringData:',
    `  username: ${user}`,
    `  password: "${pw}"`,
    `  database-url: postgres://${user}:${pw}@db.${namespace}.svc:5432/app?sslmode=require`,
    // quoted: a hex string of digits and one `e` ("1234e5678…") is a YAML number
    `  api-key: "${randomBytes(20).toString('hex')}"`,
    `  signing-secret: ${randomBytes(48).toString('base64')}`,
    '',
  ].join('\n');
}

/** A multi-document stream of Secrets: count of them over `namespaces`, named `${prefix}-<i>` from i = `from`. */
export function secretStream(namespaces, count, prefix, set, from = 0) {
  const docs = [];
  for (let i = from; i < from + count; i++) docs.push(secretYaml(namespaces[i % namespaces.length], `${prefix}-${i}`, set));
  return docs.map((d) => `---\n${d}`).join('');
}
