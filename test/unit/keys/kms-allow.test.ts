import { describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { AZURE_PUBLIC_SUFFIXES, isAllowed, parseKmsAllow } from '../../../src/keys/kms-allow.js';
import { KmsStanzaUnwrapper, NO_AWS_ACCOUNT_MESSAGE } from '../../../src/keys/kms-unwrapper.js';

const azure = (host: string): { type: 'azure-kv'; id: string } => ({ type: 'azure-kv', id: `https://${host}/keys/k/0123abcd` });
const aws = (region: string, account = '111122223333'): { type: 'aws-kms'; id: string } => ({ type: 'aws-kms', id: `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab` });

describe('parseKmsAllow', () => {
  it('reads an empty list as default: the public Azure suffixes and the controller\'s own AWS account in its region', () => {
    const role = { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/sealbox-controller' };
    expect(parseKmsAllow('', { ...role, AWS_REGION: 'eu-west-1' })).toEqual({ azure: AZURE_PUBLIC_SUFFIXES, aws: [{ account: '123456789012', region: 'eu-west-1' }] });
    expect(parseKmsAllow('default', { ...role, AWS_DEFAULT_REGION: 'us-east-2' }).aws).toEqual([{ account: '123456789012', region: 'us-east-2' }]);
    expect(parseKmsAllow('default', { AWS_REGION: 'eu-west-1' }).aws).toEqual([]); // no account known: no AWS key
    expect(parseKmsAllow('default', { AWS_ROLE_ARN: 'not-an-arn', AWS_REGION: 'eu-west-1' }).aws).toEqual([]);
    expect(parseKmsAllow('default', role).aws).toEqual([]);
  });

  it('adds entries to the default and reads each form', () => {
    expect(parseKmsAllow('default, azure:Vault.Example.ORG:8443, azure:.corp.example, aws:111122223333:*, aws:*:us-gov-west-1', {})).toEqual({
      azure: [...AZURE_PUBLIC_SUFFIXES, 'vault.example.org:8443', '.corp.example'],
      aws: [{ account: '111122223333', region: '*' }, { account: '*', region: 'us-gov-west-1' }],
    });
  });

  it.each(['azure:', 'azure:https://x', 'azure:.suffix:8443', 'azure:a/b', 'aws:1:eu-west-1', 'aws:*', 'aws:*:EU', 'gcp:x', 'everything'])('refuses %j as INPUT', (entry) => {
    const err = (() => { try { parseKmsAllow(entry, {}); } catch (e) { return e; } return undefined; })();
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
  });
});

describe('isAllowed', () => {
  const allow = parseKmsAllow('default,azure:127.0.0.1:8443,aws:444455556666:*', { AWS_REGION: 'eu-west-1', AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/sealbox' });
  it.each([
    [azure('myvault.vault.azure.net'), true],
    [azure('MyVault.Vault.Azure.NET'), true],
    [azure('hsm.managedhsm.azure.net'), true],
    [azure('v.vault.azure.cn'), true],
    [azure('v.vault.usgovcloudapi.net'), true],
    [azure('127.0.0.1:8443'), true],
    [azure('vault.azure.net'), false],
    [azure('evilvault.azure.net'), false],
    [azure('myvault.vault.azure.net:8443'), false],
    [azure('myvault.vault.azure.net.evil.example'), false],
    [azure('127.0.0.1:8444'), false],
    [azure('127.0.0.1'), false],
    [azure('10.0.0.5:22'), false],
    [azure('169.254.169.254'), false],
    [{ type: 'azure-kv' as const, id: 'https://myvault.vault.azure.net/secrets/x' }, false],
    [aws('eu-west-1'), true],
    [aws('eu-west-1', '999988887777'), false], // another account in the same region: not the controller's own
    [aws('us-east-1'), false],
    [aws('us-east-1', '444455556666'), true],
    [{ type: 'aws-kms' as const, id: 'alias/x' }, false],
    [{ type: 'aws-kms' as const, id: 'arn:aws:kms:eu-west-1:111122223333:alias/x' }, false],
    [{ type: 'cert' as const, id: 'ab' }, false],
  ])('%j: %s', (stanza, want) => {
    expect(isAllowed(stanza, allow)).toBe(want);
  });
});

describe('an AWS stanza when the controller knows no account of its own', () => {
  it('is refused with no call and a message telling the operator what to set', async () => {
    const u = new KmsStanzaUnwrapper({ allow: parseKmsAllow('default', { AWS_REGION: 'eu-west-1' }), fixedErrors: true });
    const err = await u.unwrap({ ...aws('eu-west-1'), wrapped: new Uint8Array(8) }, { scope: 'strict', namespace: 'ns', name: 'db' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('NO_KEY');
    expect((err as SealboxError).message).toBe(NO_AWS_ACCOUNT_MESSAGE);
    expect(NO_AWS_ACCOUNT_MESSAGE).toContain('--kms-allow default,aws:ACCOUNT:REGION');
  });
});
