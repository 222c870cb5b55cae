/**
 * How the CLI words the hints of the core's errors: as the flags to pass.
 * The controller words the same hints as status text (src/controller/hints.ts).
 */
import type { ErrorHint } from '../src/errors.js';
import { SealboxError, withAdvice } from '../src/errors.js';

/** The flag that gives each parameter a hint names. */
const PARAMETER_FLAGS = { 'key-bits': '--bits', 'validity-days': '--days', 'recipient-to-remove': '--remove-recipient', 'kms-allow-entry': '--kms-allow' } as const;

/** Returns the advice for `hint`, naming the CLI's flags. */
export function cliAdvice(hint: ErrorHint): string {
  switch (hint.kind) {
    case 'recipients-missing':
      return 'pass --cert or --kms, or configure recipients in .sealbox.yaml';
    case 'private-key-missing':
      return 'pass --key with the private key of one of them';
    case 'namespace-missing':
      return 'set metadata.namespace or pass --namespace';
    case 'name-missing':
      return 'set it or pass --name';
    case 'name-invalid':
      return 'fix it or pass --name';
    case 'reseal-with-scope':
      return `seal the values again with --scope ${hint.scope}`;
    case 'reseal-for-name':
      return `seal it again for "${hint.name}" or use --scope namespace`;
    case 'recipient-certificate-missing':
      return hint.removable ? 'pass its certificate (--to-cert) or remove it (--remove-recipient)' : 'pass its certificate with --cert';
    case 'namespace-conflict':
      return 'remove one: metadata.namespace or --namespace';
    case 'name-for-several':
      return 'drop --name, or seal each Secret on its own';
    case 'controller-check':
      return 'check --controller-url and the controller';
    case 'merge-target-missing':
      return 'seal it into a new file instead of --merge-into';
    case 'merge-target-ambiguous':
      return 'pass --name and --namespace';
    case 'merge-scope':
      return `drop --scope, or seal the whole secret again with --scope ${hint.scope}`;
    case 'compact-by-key-holder':
      return 'a holder of the keys can compact with "sealbox rotate --new-data-key"';
    case 'key-bits':
    case 'validity-days':
    case 'recipient-to-remove':
    case 'kms-allow-entry':
      return `pass it with ${PARAMETER_FLAGS[hint.kind]}`;
  }
}

/** Returns an error's message with its hint rendered for the CLI; other errors' message as it is. */
export function cliMessage(err: Error): string {
  return err instanceof SealboxError && err.hint !== undefined ? withAdvice(err.message, cliAdvice(err.hint)) : err.message;
}
