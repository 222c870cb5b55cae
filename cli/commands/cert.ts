import type { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { CertRecipient, certificatesFromPem, publicKeyFingerprint } from '../../src/keys/cert.js';
import { addClusterOptions, fetchCertificates } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { writeOutput } from '../io.js';
import { readCertificateFile } from '../recipients.js';

/** Registers `sealbox cert` and its subcommands. */
export function registerCert(program: Command): void {
  const cert = program.command('cert').description('work with cluster certificates');
  addClusterOptions(
    cert
      .command('fetch')
      .description("fetch the controller's public certificate (from its public ConfigMap, else through the service proxy)")
      .option('-o, --output <file>', 'write here instead of stdout')
      .option('--all', 'every certificate the controller still unseals with, newest first'),
  ).action(async (flags: ClusterFlags & { output?: string; all?: boolean }) => {
    const pem = await fetchCertificates(flags, flags.all === true);
    // Refuse to save anything that is not a certificate.
    CertRecipient.fromPem(pem, 'fetched certificate');
    await writeOutput(flags.output, pem);
  });
  cert
    .command('inspect')
    .description('print a certificate\'s fingerprint (the recipient id sealed files name), subject and validity; every certificate of a bundle')
    .argument('<cert>', 'certificate file or http(s) URL')
    .option('--output <format>', 'text | json', 'text')
    .action(async (path: string, flags: { output: string }) => {
      const certs = certificatesFromPem(await readCertificateFile(path), path);
      // Each must be a certificate sealbox can seal for (RSA, 2048+ bits).
      certs.forEach((c, i) => CertRecipient.fromPem(c.toString(), certs.length === 1 ? path : `${path} (certificate ${i + 1})`));
      const infos = certs.map(describeCertificate);
      if (flags.output === 'json') {
        // One certificate: its object, as before; a bundle: an array, in file order.
        process.stdout.write(`${JSON.stringify(infos.length === 1 ? infos[0] : infos, null, 2)}\n`);
        return;
      }
      if (infos.length > 1) process.stdout.write(`${path} holds ${infos.length} certificates:\n\n`);
      process.stdout.write(infos.map(formatCertificate).join('\n'));
    });
}

interface CertificateInfo {
  fingerprint: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  keyBits: number;
  expired: boolean;
}

function describeCertificate(c: X509Certificate): CertificateInfo {
  return {
    fingerprint: publicKeyFingerprint(c.publicKey),
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    keyBits: c.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    expired: new Date(c.validTo).getTime() < Date.now(),
  };
}

function formatCertificate(info: CertificateInfo): string {
  return [
    `fingerprint: ${info.fingerprint}`,
    `subject:     ${info.subject}`,
    `issuer:      ${info.issuer}`,
    `not before:  ${info.notBefore}`,
    `not after:   ${info.notAfter}${info.expired ? ' (expired)' : ''}`,
    `key:         RSA ${info.keyBits} bits`,
    '',
  ].join('\n');
}
