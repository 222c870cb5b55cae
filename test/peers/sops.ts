/**
 * The real sops (v3.13.3, bench/versions.sh) for tests: installed and cached
 * by bench/peers.sh (`go install`, first time only; .ci/run runs it before
 * the tests), and run against the moto peer the way a user runs it against
 * AWS: AWS_ENDPOINT_URL_KMS, test credentials, a key ARN.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

let path: string | undefined;

/** Path of the sops binary (installs it the first time: minutes, cold). */
export function sopsBinary(): string {
  path ??= execFileSync('bash', [join(ROOT, 'bench', 'peers.sh'), 'sops'], { encoding: 'utf8', timeout: 20 * 60_000 }).trim().split('\n').pop() ?? '';
  return path;
}

/** Options of {@link sopsEncrypt}. */
export interface SopsEncryptOptions {
  /** `--encrypted-regex`; default none (sops encrypts every value not ending in _unencrypted). */
  readonly encryptedRegex?: string;
  /** Extra sops flags, e.g. `['--age', RECIPIENT]`. */
  readonly extra?: readonly string[];
  /** A .sops.yaml to use (`sops --config FILE`), for settings that have no flag (mac_only_encrypted). */
  readonly config?: string;
}

/**
 * Runs `sops encrypt` on `file` (written by the caller) for the AWS KMS key
 * `arn` (when given) with the environment `env`; returns the encrypted YAML.
 * Throws with sops' error output when sops fails.
 */
export function sopsEncrypt(file: string, arn: string | undefined, env: NodeJS.ProcessEnv, o: SopsEncryptOptions = {}): string {
  const args = [...(o.config === undefined ? [] : ['--config', o.config]), 'encrypt', ...(arn === undefined ? [] : ['--kms', arn]), ...(o.encryptedRegex === undefined ? [] : ['--encrypted-regex', o.encryptedRegex]), ...(o.extra ?? []), file];
  return execFileSync(sopsBinary(), args, { encoding: 'utf8', env: sopsEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

/** Runs `sops decrypt` on `file`; returns the plain YAML. */
export function sopsDecrypt(file: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(sopsBinary(), ['decrypt', file], { encoding: 'utf8', env: sopsEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

/** `env` (kmsEnv()'s, with undefined meaning "removed") as a child's environment, plus what sops needs to stay offline. */
function sopsEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) Reflect.deleteProperty(merged, k);
    else merged[k] = v;
  }
  // no .sops.yaml lookup outside the test's folder matters: keys are given on the command line
  return { ...merged, SOPS_DISABLE_VERSION_CHECK: '1' };
}
