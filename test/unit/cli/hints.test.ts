import { describe, expect, it } from 'vitest';
import { cliAdvice, cliMessage } from '../../../cli/hints.js';
import type { ErrorHint } from '../../../src/errors.js';
import { SealboxError } from '../../../src/errors.js';

describe('CLI wording of error hints', () => {
  it.each<[ErrorHint, string]>([
    [{ kind: 'recipients-missing' }, 'pass --cert or --kms, or configure recipients in .sealbox.yaml'],
    [{ kind: 'private-key-missing' }, 'pass --key with the private key of one of them'],
    [{ kind: 'namespace-missing' }, 'set metadata.namespace or pass --namespace'],
    [{ kind: 'name-missing' }, 'set it or pass --name'],
    [{ kind: 'name-invalid' }, 'fix it or pass --name'],
    [{ kind: 'reseal-with-scope', scope: 'cluster' }, 'seal the values again with --scope cluster'],
    [{ kind: 'reseal-for-name', name: 'db' }, 'seal it again for "db" or use --scope namespace'],
    [{ kind: 'recipient-certificate-missing', removable: true }, 'pass its certificate (--to-cert) or remove it (--remove-recipient)'],
    [{ kind: 'recipient-certificate-missing', removable: false }, 'pass its certificate with --cert'],
    [{ kind: 'namespace-conflict' }, 'remove one: metadata.namespace or --namespace'],
    [{ kind: 'name-for-several' }, 'drop --name, or seal each Secret on its own'],
    [{ kind: 'controller-check' }, 'check --controller-url and the controller'],
    [{ kind: 'merge-target-missing' }, 'seal it into a new file instead of --merge-into'],
    [{ kind: 'merge-target-ambiguous' }, 'pass --name and --namespace'],
    [{ kind: 'merge-scope', scope: 'strict' }, 'drop --scope, or seal the whole secret again with --scope strict'],
    [{ kind: 'compact-by-key-holder' }, 'a holder of the keys can compact with "sealbox rotate --new-data-key"'],
    [{ kind: 'key-bits' }, 'pass it with --bits'],
    [{ kind: 'validity-days' }, 'pass it with --days'],
    [{ kind: 'recipient-to-remove' }, 'pass it with --remove-recipient'],
    [{ kind: 'kms-allow-entry' }, 'pass it with --kms-allow'],
  ])('words %j as the flags to pass', (hint, advice) => {
    expect(cliAdvice(hint)).toBe(advice);
    expect(cliMessage(new SealboxError('INPUT', 'what failed', { hint }))).toBe(`what failed; ${advice}`);
  });

  it('leaves a message without a hint as it is', () => {
    expect(cliMessage(new SealboxError('INPUT', 'what failed'))).toBe('what failed');
    expect(cliMessage(new Error('plain'))).toBe('plain');
  });
});
