/**
 * How the CLI words the hints of the core's errors: as the flags to pass.
 * The controller words the same hints as status text (src/controller/hints.ts).
 */
import type { ErrorHint } from '../src/errors.js';
import { SealboxError, withAdvice } from '../src/errors.js';

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
  }
}

/** Returns an error's message with its hint rendered for the CLI; other errors' message as it is. */
export function cliMessage(err: Error): string {
  return err instanceof SealboxError && err.hint !== undefined ? withAdvice(err.message, cliAdvice(err.hint)) : err.message;
}
