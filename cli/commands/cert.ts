import type { Command } from 'commander';
import { publicKeyFingerprint } from '../../src/keys/cert.js';
import { CertRecipient } from '../../src/keys/cert.js';
import { addClusterOptions, fetchCertificates } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { writeOutput } from '../io.js';
import { loadCertificate } from '../recipients.js';

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
    .description('print a certificate\'s fingerprint (the recipient id sealed files name), subject and validity')
    .argument('<cert>', 'certificate file or http(s) URL')
    .option('--output <format>', 'text | json', 'text')
    .action(async (path: string, flags: { output: string }) => {
      const c = (await loadCertificate(path)).certificate;
      const info = {
        fingerprint: publicKeyFingerprint(c.publicKey),
        subject: c.subject.replace(/\n/g, ', '),
        issuer: c.issuer.replace(/\n/g, ', '),
        notBefore: new Date(c.validFrom).toISOString(),
        notAfter: new Date(c.validTo).toISOString(),
        keyBits: c.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
        expired: new Date(c.validTo).getTime() < Date.now(),
      };
      if (flags.output === 'json') {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        [
          `fingerprint: ${info.fingerprint}`,
          `subject:     ${info.subject}`,
          `issuer:      ${info.issuer}`,
          `not before:  ${info.notBefore}`,
          `not after:   ${info.notAfter}${info.expired ? ' (expired)' : ''}`,
          `key:         RSA ${info.keyBits} bits`,
          '',
        ].join('\n'),
      );
    });
}
