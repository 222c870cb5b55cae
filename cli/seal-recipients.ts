/**
 * The recipients and scope `sealbox seal` seals for: --cert/--kms when given,
 * else the first matching rule of the nearest `.sealbox.yaml`, else the
 * cluster's newest certificate (as kubeseal does). --scope overrides a rule's
 * scope.
 */
import { dirname, resolve } from 'node:path';
import { isScope } from '../src/crypto/binding.js';
import type { KeyWrapper, Scope } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import { CertRecipient } from '../src/keys/cert.js';
import type { ClusterFlags } from './cluster.js';
import { fetchCertificates } from './cluster.js';
import { CONFIG_FILE, ruleNotice } from './config.js';
import { RecipientResolver } from './recipient-resolver.js';

/** The flags of `seal` that choose recipients and scope. */
export interface SealRecipientFlags extends ClusterFlags {
  cert: string[];
  kms: string[];
  scope?: string;
  insecureHttp?: boolean;
}

/** What one sealed file is sealed for. */
export interface SealRecipients {
  readonly scope: Scope;
  readonly wrappers: KeyWrapper[];
}

/**
 * Returns the resolver of `seal`'s recipients. Each resolution of a rule (or
 * of the cluster's certificate) prints on standard error which keys it chose.
 * Throws SealboxError('INPUT') for a malformed --scope.
 */
export function sealRecipients(flags: SealRecipientFlags): RecipientResolver<SealRecipients> {
  const flagScope = flags.scope === undefined ? undefined : parseScope(flags.scope);
  return new RecipientResolver<SealRecipients>({
    certs: flags.cert,
    kms: flags.kms,
    insecureHttp: flags.insecureHttp === true,
    fromFlags: (wrappers) => ({ scope: flagScope ?? 'strict', wrappers }),
    fromRule: (wrappers, config, rule) => {
      const scope = flagScope ?? rule.scope ?? 'strict';
      process.stderr.write(ruleNotice(config, rule, wrappers.map((w) => w.recipient), scope));
      return { scope, wrappers };
    },
    noRule: (target, config) => {
      if (config !== undefined) {
        throw new SealboxError('INPUT', `no rule of ${config.file} matches ${target}; add a rule for it, or pass --cert or --kms`);
      }
      return clusterRecipients(flags, target, flagScope ?? 'strict');
    },
  });
}

/**
 * The path `.sealbox.yaml` rules are matched against when sealing one input:
 * the file written (`-o`, `--merge-into`), else the file read, else
 * (standard input to standard output) the current folder; and the folder the
 * config is looked up from.
 */
export function configTarget(files: { output?: string; mergeInto?: string; file?: string }): { target: string; startDir: string } {
  const file = [files.output, files.mergeInto, files.file].find((f) => f !== undefined && f !== '-');
  return file === undefined ? { target: process.cwd(), startDir: process.cwd() } : { target: file, startDir: dirname(resolve(file)) };
}

/** The newest certificate of the cluster's controller, when no config applies to `target`. */
async function clusterRecipients(flags: ClusterFlags, target: string, scope: Scope): Promise<SealRecipients> {
  const pem = await fetchCertificates(flags, false);
  const cert = CertRecipient.fromPem(pem, `certificate of controller ${flags.controllerNamespace}/${flags.controllerName}`);
  const controller = flags.controllerUrl ?? `${flags.controllerNamespace}/${flags.controllerName}`;
  process.stderr.write(`no ${CONFIG_FILE} applies to ${target}; using the newest certificate of controller ${controller}: recipients cert ${cert.recipient.id}\n`);
  return { scope, wrappers: [cert] };
}

function parseScope(s: string): Scope {
  if (!isScope(s)) throw new SealboxError('INPUT', `--scope ${s}: use strict, namespace or cluster`);
  return s;
}
