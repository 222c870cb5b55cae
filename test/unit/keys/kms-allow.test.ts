import { describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { AZURE_PUBLIC_SUFFIXES, isAllowed, parseKmsAllow } from '../../../src/keys/kms-allow.js';

const azure = (host: string): { type: 'azure-kv'; id: string } => ({ type: 'azure-kv', id: `https://${host}/keys/k/0123abcd` });
const aws = (region: string, account = '111122223333'): { type: 'aws-kms'; id: string } => ({ type: 'aws-kms', id: `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab` });

describe('parseKmsAllow', () => {
  it('reads an empty list as default: the public Azure suffixes and any account in the configured AWS region', () => {
    expect(parseKmsAllow('', { AWS_REGION: 'eu-west-1' })).toEqual({ azure: AZURE_PUBLIC_SUFFIXES, aws: [{ account: '*', region: 'eu-west-1' }] });
    expect(parseKmsAllow('default', { AWS_DEFAULT_REGION: 'us-east-2' }).aws).toEqual([{ account: '*', region: 'us-east-2' }]);
    expect(parseKmsAllow('default', {}).aws).toEqual([]);
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
  const allow = parseKmsAllow('default,azure:127.0.0.1:8443,aws:444455556666:*', { AWS_REGION: 'eu-west-1' });
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
    [aws('us-east-1'), false],
    [aws('us-east-1', '444455556666'), true],
    [{ type: 'aws-kms' as const, id: 'alias/x' }, false],
    [{ type: 'aws-kms' as const, id: 'arn:aws:kms:eu-west-1:111122223333:alias/x' }, false],
    [{ type: 'cert' as const, id: 'ab' }, false],
  ])('%j: %s', (stanza, want) => {
    expect(isAllowed(stanza, allow)).toBe(want);
  });
});
