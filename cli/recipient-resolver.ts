/**
 * Which recipients a file gets, the policy `seal` and `rotate` share: the keys
 * named by flags when there are any; else the first rule of the nearest
 * `.sealbox.yaml` whose path matches the file; else the command's own
 * fallback. Each folder's config is looked up once, and each rule's keys are
 * loaded once, however many files a run touches.
 */
import { dirname, resolve } from 'node:path';
import type { KeyWrapper } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import type { ConfigRule, RepoConfig } from './config.js';
import { checkRuleTransport, describeRule, findConfig, ruleFor } from './config.js';
import { kmsWrappers, recipientWrappers } from './kms.js';
import { certWrappers } from './recipients.js';

/** What a command makes of the recipients chosen for a file: a `T` per source. */
export interface RecipientPolicy<T> {
  /** Certificates named by flags (`--cert`, `--to-cert`): files or http(s) URLs. */
  readonly certs: readonly string[];
  /** KMS keys named by flags (`--kms`, `--to-kms`). */
  readonly kms: readonly string[];
  /** `--insecure-http`: a rule may fetch a certificate over plain http. */
  readonly insecureHttp: boolean;
  /** The answer when flags name keys: their wrappers, certificates first. */
  fromFlags(wrappers: KeyWrapper[]): T | Promise<T>;
  /** The answer for a config rule; what it throws is prefixed with the rule's name. */
  fromRule(wrappers: KeyWrapper[], config: RepoConfig, rule: ConfigRule): T | Promise<T>;
  /** The answer when no rule applies to `target`: `config` matched none, or (undefined) there is no config. */
  noRule(target: string, config: RepoConfig | undefined): T | Promise<T>;
}

/**
 * Returns the wrappers of keys named by flags: the certificates, then the KMS
 * keys. Throws SealboxError('INPUT') for a malformed spec, and what loading a
 * certificate throws.
 */
export async function flagWrappers(certs: readonly string[], kms: readonly string[]): Promise<KeyWrapper[]> {
  // The SDKs load only when a KMS key is named.
  return [...(await certWrappers(certs)), ...(await kmsWrappers(kms))];
}

/** Applies a {@link RecipientPolicy} to files, resolving each source once. */
export class RecipientResolver<T> {
  readonly #policy: RecipientPolicy<T>;
  readonly #configs = new Map<string, Promise<RepoConfig | undefined>>();
  readonly #answers = new Map<string, Promise<T>>();

  constructor(policy: RecipientPolicy<T>) {
    this.#policy = policy;
  }

  /** True when flags name the recipients, so no config is read. */
  get hasFlags(): boolean {
    return this.#policy.certs.length > 0 || this.#policy.kms.length > 0;
  }

  /** The answer for the keys named by flags, resolved once. Throws what loading them throws. */
  flags(): Promise<T> {
    return this.#once('flags', async () => this.#policy.fromFlags(await flagWrappers(this.#policy.certs, this.#policy.kms)));
  }

  /** The nearest config from folder `dir` (see findConfig), read once per folder. */
  #config(dir: string): Promise<RepoConfig | undefined> {
    const key = resolve(dir);
    let found = this.#configs.get(key);
    if (found === undefined) {
      found = findConfig(key);
      this.#configs.set(key, found);
    }
    return found;
  }

  /**
   * The answer for `target`: the flags' when they name keys, else its config
   * rule's (the config looked up from `startDir`, by default the target's
   * folder), else the policy's `noRule`. Throws what the policy throws; a
   * rule's errors name the rule.
   */
  async resolve(target: string, startDir: string = dirname(resolve(target))): Promise<T> {
    if (this.hasFlags) return this.flags();
    const config = await this.#config(startDir);
    if (config === undefined) return this.#once('no config', () => this.#policy.noRule(target, undefined));
    const rule = ruleFor(config, target);
    if (rule === undefined) return this.#policy.noRule(target, config);
    return this.#once(`${config.file}#${String(rule.index)}`, () => this.#fromRule(config, rule));
  }

  async #fromRule(config: RepoConfig, rule: ConfigRule): Promise<T> {
    try {
      checkRuleTransport(config, rule, this.#policy.insecureHttp);
      return await this.#policy.fromRule(await recipientWrappers(rule.recipients), config, rule);
    } catch (err) {
      if (err instanceof SealboxError) throw new SealboxError(err.code, `${describeRule(config, rule)}: ${err.message}`, { cause: err, ...(err.hint === undefined ? {} : { hint: err.hint }) });
      throw err;
    }
  }

  #once(key: string, make: () => T | Promise<T>): Promise<T> {
    let answer = this.#answers.get(key);
    if (answer === undefined) {
      answer = Promise.resolve().then(make);
      this.#answers.set(key, answer);
    }
    return answer;
  }
}
