/**
 * How the controller words the hints of the core's errors for a
 * SealedSecret's status, events and logs: what to do, without the CLI's
 * flags (the CLI's wording is in cli/hints.ts).
 */
import type { ErrorHint } from '../errors.js';
import { SealboxError, withAdvice } from '../errors.js';

/** Returns the advice for `hint` as status text. */
export function statusAdvice(hint: ErrorHint): string {
  switch (hint.kind) {
    case 'recipients-missing':
      return 'seal it for at least one certificate or KMS key';
    case 'private-key-missing':
      return 'the controller holds no private key yet; it retries when it has one';
    case 'namespace-missing':
      return 'set metadata.namespace';
    case 'name-missing':
      return 'set it';
    case 'name-invalid':
      return 'fix it';
    case 'reseal-with-scope':
      return `seal the values again with scope "${hint.scope}"`;
    case 'reseal-for-name':
      return `seal it again for "${hint.name}" or with namespace scope`;
    case 'recipient-certificate-missing':
      return 'give its certificate';
    case 'namespace-conflict':
      return 'keep one of them';
    case 'name-for-several':
      return 'seal each Secret on its own';
    case 'controller-check':
      return 'check which controller answered and its version';
    case 'merge-target-missing':
      return 'seal it into a new file';
    case 'merge-target-ambiguous':
      return 'give its name and namespace';
    case 'merge-scope':
      return `keep the file's scope, or seal the whole secret again with scope "${hint.scope}"`;
    case 'compact-by-key-holder':
      return 'a holder of the keys can compact it by rotating to a new data key';
    case 'key-bits':
    case 'validity-days':
      return 'fix the controller\'s key settings';
    case 'recipient-to-remove':
      return 'fix the recipient to remove';
    case 'kms-allow-entry':
      return 'fix the controller\'s KMS allow list';
  }
}

/** Returns an error's message with its hint worded for a status; other errors' message as it is. */
export function statusMessage(err: Error): string {
  return err instanceof SealboxError && err.hint !== undefined ? withAdvice(err.message, statusAdvice(err.hint)) : err.message;
}
