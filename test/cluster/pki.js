// @ts-check
// Test PKI for one control-plane run, made with the openssl CLI (Node cannot
// create X.509 certificates). EC P-256 keys: generated in milliseconds, and
// accepted by kube-apiserver for serving, client auth and service accounts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @typedef {object} Pki
 * @property {string} dir
 * @property {string} caCert
 * @property {string} caKey
 * @property {string} serverCert apiserver serving cert (SAN 127.0.0.1, localhost)
 * @property {string} serverKey
 * @property {string} adminCert client cert, CN=sealbox-admin, O=system:masters
 * @property {string} adminKey
 * @property {string} saKey service-account signing key (private)
 * @property {string} saPub service-account verification key (public)
 */

/**
 * Generates a CA, the apiserver serving cert, an admin client cert and the
 * service-account key pair into `dir`.
 * @param {string} dir
 * @returns {Pki}
 * @throws {Error} when openssl is missing or fails
 */
export function generatePki(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (/** @type {string} */ f) => join(dir, f);
  for (const k of ['ca', 'server', 'admin', 'sa']) genKey(p(`${k}.key`));
  openssl(['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  openssl([
    'req', '-x509', '-new', '-key', p('ca.key'), '-days', '3650', '-subj', '/CN=sealbox-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', p('ca.crt'),
  ]);
  issue(dir, 'server', '/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc',
    'extendedKeyUsage=serverAuth',
  ]);
  issue(dir, 'admin', '/O=system:masters/CN=sealbox-admin', ['extendedKeyUsage=clientAuth']);
  return {
    dir, caCert: p('ca.crt'), caKey: p('ca.key'), serverCert: p('server.crt'), serverKey: p('server.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'), saKey: p('sa.key'), saPub: p('sa.pub'),
  };
}

/** @param {string} file */
function genKey(file) {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/**
 * Signs a leaf certificate for `<name>.key` with the CA.
 * @param {string} dir
 * @param {string} name
 * @param {string} subject
 * @param {string[]} exts x509v3 extension lines
 */
function issue(dir, name, subject, exts) {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', ...exts].join('\n')}\n`);
  openssl(['req', '-new', '-key', join(dir, `${name}.key`), '-subj', subject, '-out', join(dir, `${name}.csr`)]);
  openssl([
    'x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-set_serial', `0x${Date.now().toString(16)}${name.length}`, '-days', '365', '-extfile', ext,
    '-out', join(dir, `${name}.crt`),
  ]);
}

/** @param {string[]} args */
function openssl(args) {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = /** @type {{ stderr?: Buffer, message: string }} */ (err);
    const detail = e.stderr?.toString().trim() || e.message;
    throw new Error(`openssl ${args[0] ?? ''} failed while generating test certificates: ${detail}`, { cause: err });
  }
}
