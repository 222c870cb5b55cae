import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigRule, RepoConfig } from '../../../cli/config.js';
import { RecipientResolver } from '../../../cli/recipient-resolver.js';
import type { RecipientPolicy } from '../../../cli/recipient-resolver.js';
import type { KeyWrapper } from '../../../src/crypto/types.js';
import { SealboxError } from '../../../src/errors.js';
import { vectorKey, vectorRecipient } from '../../helpers/keys.js';

const CERT_A = vectorKey('a').certPath;
const CERT_B = vectorKey('b').certPath;

/** What each call of the policy received, and how often it was called. */
interface Calls {
  flags: number;
  rules: string[];
  noRule: { target: string; config: string | undefined }[];
}

/** A policy whose answer names where the recipients came from: `flags`, `rule N: ids`, `no rule`. */
function policy(calls: Calls, flags: { certs?: string[] } = {}): RecipientPolicy<string> {
  const ids = (ws: KeyWrapper[]): string => ws.map((w) => w.recipient.id.slice(0, 8)).join(',');
  return {
    certs: flags.certs ?? [],
    kms: [],
    insecureHttp: false,
    fromFlags: (ws) => {
      calls.flags++;
      return `flags: ${ids(ws)}`;
    },
    fromRule: (ws, _config: RepoConfig, rule: ConfigRule) => {
      calls.rules.push(String(rule.index));
      return `rule ${rule.index}: ${ids(ws)}`;
    },
    noRule: (target, config) => {
      calls.noRule.push({ target, config: config?.file });
      return 'no rule';
    },
  };
}

const A = vectorRecipient('a').recipient.id.slice(0, 8);
const B = vectorRecipient('b').recipient.id.slice(0, 8);

describe('RecipientResolver', () => {
  let repo: string;
  let calls: Calls;

  beforeEach(async () => {
    repo = await mkdtemp(join(tmpdir(), 'sealbox-resolver-'));
    // A repository root, so a config above the file's folder is found.
    await mkdir(join(repo, '.git'));
    await writeFile(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await mkdir(join(repo, 'apps', 'prod'), { recursive: true });
    await mkdir(join(repo, 'other'));
    await writeFile(join(repo, '.sealbox.yaml'), `rules:\n  - path: apps/**\n    recipients: [cert:${CERT_A}]\n  - path: other/keep/**\n    recipients: [cert:${CERT_B}]\n`);
    calls = { flags: 0, rules: [], noRule: [] };
  });

  afterEach(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  it('answers with the keys the flags name, once, and reads no config', async () => {
    await writeFile(join(repo, '.sealbox.yaml'), 'not: a config\n');
    const resolver = new RecipientResolver(policy(calls, { certs: [CERT_B, CERT_A] }));

    expect(resolver.hasFlags).toBe(true);
    expect(await resolver.resolve(join(repo, 'apps', 'prod', 's.yaml'))).toBe(`flags: ${B},${A}`);
    expect(await resolver.resolve(join(repo, 'other', 's.yaml'))).toBe(`flags: ${B},${A}`);
    expect(calls.flags).toBe(1);
  });

  it('answers with the first matching rule, resolving each rule once however many files it matches', async () => {
    const resolver = new RecipientResolver(policy(calls));

    expect(resolver.hasFlags).toBe(false);
    expect(await resolver.resolve(join(repo, 'apps', 'prod', 's.yaml'))).toBe(`rule 1: ${A}`);
    expect(await resolver.resolve(join(repo, 'apps', 'prod', 't.yaml'))).toBe(`rule 1: ${A}`);
    expect(await resolver.resolve(join(repo, 'apps', 'u.yaml'))).toBe(`rule 1: ${A}`);
    expect(await resolver.resolve(join(repo, 'other', 'keep', 'v.yaml'))).toBe(`rule 2: ${B}`);
    expect(calls.rules).toEqual(['1', '2']);
  });

  it('reads the config of each folder once', async () => {
    const resolver = new RecipientResolver(policy(calls));
    const config = join(repo, '.sealbox.yaml');

    expect(await resolver.resolve(join(repo, 'apps', 'prod', 's.yaml'))).toBe(`rule 1: ${A}`);
    await writeFile(config, `rules:\n  - path: none/**\n    recipients: [cert:${CERT_A}]\n  - recipients: [cert:${CERT_B}]\n`);

    // The same folder: the config read first still applies.
    expect(await resolver.resolve(join(repo, 'apps', 'prod', 't.yaml'))).toBe(`rule 1: ${A}`);
    // Another folder: its lookup reads the file as it is now.
    expect(await resolver.resolve(join(repo, 'other', 'w.yaml'))).toBe(`rule 2: ${B}`);
  });

  it('asks the policy when no rule matches the target, or there is no config', async () => {
    const unmatched = join(repo, 'other', 's.yaml');
    expect(await new RecipientResolver(policy(calls)).resolve(unmatched)).toBe('no rule');
    await rm(join(repo, '.sealbox.yaml'));
    expect(await new RecipientResolver(policy(calls)).resolve(unmatched)).toBe('no rule');

    expect(calls.noRule).toEqual([
      { target: unmatched, config: join(repo, '.sealbox.yaml') },
      { target: unmatched, config: undefined },
    ]);
  });

  it('looks the config up from the folder it is given instead of the target\'s', async () => {
    await writeFile(join(repo, 'apps', '.sealbox.yaml'), `rules:\n  - recipients: [cert:${CERT_B}]\n`);
    const resolver = new RecipientResolver(policy(calls));
    const target = join(repo, 'other', 's.yaml');

    expect(await resolver.resolve(target, join(repo, 'apps'))).toBe(`rule 1: ${B}`);
    expect(await resolver.resolve(target)).toBe('no rule');
  });

  it("names the rule in what loading its keys throws, keeping the error's code", async () => {
    const missing = join(repo, 'missing.pem');
    await writeFile(join(repo, '.sealbox.yaml'), `rules:\n  - path: apps/**\n    recipients: [cert:${missing}]\n`);
    const resolver = new RecipientResolver(policy(calls));

    const err = await resolver.resolve(join(repo, 'apps', 's.yaml')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('IO');
    const prefix = `${join(repo, '.sealbox.yaml')} rule 1 (apps/**): cannot read ${missing}`;
    expect((err as SealboxError).message.slice(0, prefix.length)).toBe(prefix);
    expect(calls.rules).toEqual([]);
  });

  it('names the rule in what the policy throws for it', async () => {
    const refusing: RecipientPolicy<string> = {
      ...policy(calls),
      fromRule: () => {
        throw new SealboxError('PROVIDER', 'key unreachable');
      },
    };
    const resolver = new RecipientResolver(refusing);

    await expect(resolver.resolve(join(repo, 'apps', 's.yaml'))).rejects.toThrow(`${join(repo, '.sealbox.yaml')} rule 1 (apps/**): key unreachable`);
  });

  it("keeps the hint of what the policy throws, so the CLI still prints its advice", async () => {
    const refusing: RecipientPolicy<string> = {
      ...policy(calls),
      fromRule: () => {
        throw new SealboxError('INPUT', 'no recipients', { hint: { kind: 'recipients-missing' } });
      },
    };
    const err = await new RecipientResolver(refusing).resolve(join(repo, 'apps', 's.yaml')).catch((e: unknown) => e);

    expect((err as SealboxError).hint).toEqual({ kind: 'recipients-missing' });
  });
});
