// Authentication of the Key Vault stand-in (keyvault-server.mjs): its TLS
// certificate, the bearer challenge, and its managed-identity endpoint.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * Makes a self-signed TLS certificate for 127.0.0.1 and localhost (RSA 2048,
 * valid 2 days). Returns PEM texts; the certificate is also the CA to trust.
 * @returns {{ certPem: string, keyPem: string }}
 */
export function makeTlsCertificate() {
  // PEM straight out of the generator (see keyvault-store.mjs #createKey on Node 20's export deadlock)
  const { privateKey: keyPem, publicKey: publicPem } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 86_400_000);
  const subject = [{ name: 'commonName', value: 'sealbox keyvault test server' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** The challenge a vault answers a request without a valid token with (the SDK reads authority and resource). */
export const CHALLENGE = 'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"';

/**
 * The App Service managed-identity endpoint (GET /msi/token): a new token,
 * added to `issued`, for anyone who shows the identity header.
 * @param {Set<string>} issued @param {string} identityHeader
 * @param {import('node:http').IncomingMessage} req @param {URL} url
 * @returns {[number, unknown]}
 */
export function issueToken(issued, identityHeader, req, url) {
  if (req.headers['x-identity-header'] !== identityHeader) {
    return [401, { error: 'unauthorized', error_description: 'X-IDENTITY-HEADER is missing or wrong' }];
  }
  const t = `kv-mi-${randomBytes(12).toString('hex')}`;
  issued.add(t);
  const expiresOn = Math.floor(Date.now() / 1000) + 3600;
  return [200, { access_token: t, expires_on: String(expiresOn), resource: url.searchParams.get('resource') ?? '', token_type: 'Bearer', client_id: '00000000-0000-0000-0000-000000000000' }];
}
