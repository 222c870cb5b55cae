import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, ruleFor } from '../../../cli/config.js';
import { SealboxError } from '../../../src/errors.js';

const FILE = join('/repo', '.sealbox.yaml');
const TEXT = `rules:
  - path: apps/*/prod/**
    scope: namespace
    recipients: [cert:certs/prod.pem, "aws:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  - path: "**/*.json"
    recipients: [cert:https://certs.example/cert.pem]
  - recipients: [cert:/abs/dev.pem, azure:https://v.vault.azure.net/keys/k]
`;

function error(text: string): SealboxError {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    if (err instanceof SealboxError) return err;
    throw err;
  }
  throw new Error('parseConfig accepted a malformed config');
}

describe('parseConfig', () => {
  it('resolves cert paths against the config folder and keeps URLs, absolute paths and KMS specs', () => {
    const c = parseConfig(TEXT, FILE);

    expect(c.rules.map((r) => r.recipients)).toEqual([
      ['cert:/repo/certs/prod.pem', 'aws:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
      ['cert:https://certs.example/cert.pem'],
      ['cert:/abs/dev.pem', 'azure:https://v.vault.azure.net/keys/k'],
    ]);
    expect(c.rules.map((r) => r.scope)).toEqual(['namespace', undefined, undefined]);
  });

  it.each([
    ['rules: {}', '"rules" must be a list'],
    ['other: 1', 'unknown field "other"'],
    ['rules: [{path: x}]', 'rules[0].recipients must be a non-empty list'],
    ['rules: [{recipients: [x]}]', 'rules[0].recipients[0]: "x" is not a recipient'],
    ['rules: [{recipients: ["cert:"]}]', 'cert: needs a file path or URL'],
    ['rules: [{recipients: [cert:a], scope: wide}]', 'rules[0].scope must be strict, namespace or cluster'],
    ['rules: [{recipients: [cert:a], path: "a[b"}]', 'unclosed "["'],
    ['rules: [{recipients: [cert:a], paths: x}]', 'unknown field "paths"'],
  ])('refuses %s as INPUT: %s', (text, message) => {
    const err = error(text);
    expect(err.code).toBe('INPUT');
    expect(err.message).toContain(message);
  });
});

describe('ruleFor', () => {
  const c = parseConfig(TEXT, FILE);
  it.each([
    ['/repo/apps/web/prod/db.yaml', 1],
    ['/repo/apps/web/prod/eu/db.json', 1],
    ['/repo/apps/web/dev/db.json', 2],
    ['/repo/apps/web/dev/db.yaml', 3],
    ['/repo', 3],
    ['/elsewhere/apps/web/prod/db.yaml', 3],
  ])('picks for %s the first matching rule, %i', (target, index) => {
    expect(ruleFor(c, target)?.index).toBe(index);
  });

  it('matches nothing when every rule has a path and none matches', () => {
    const only = parseConfig('rules: [{path: "prod/**", recipients: [cert:a]}]', FILE);
    expect(ruleFor(only, '/repo/dev/x.yaml')).toBeUndefined();
    expect(ruleFor(only, '/other/prod/x.yaml')).toBeUndefined();
  });
});
