// `sealbox convert --from-sops`: sops-encrypted Secret manifests → sealbox
// files. A stub until issue 16 §4's sops half lands (helper sops16 owns it).
import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';

/** The flags `convert --from-sops` reads (its own options are added by registerSopsOptions). */
export interface SopsConvertFlags {
  fromSops?: boolean;
  dryRun?: boolean;
  check?: boolean;
}

/** Adds the options only `convert --from-sops` uses to the `convert` command; returns it. */
export function registerSopsOptions(cmd: Command): Command {
  return cmd;
}

/**
 * Converts the sops files under `paths`. Throws SealboxError('INPUT') for
 * now: the conversion is not written yet.
 */
export function runSopsConversion(_paths: readonly string[], _flags: SopsConvertFlags): Promise<void> {
  return Promise.reject(new SealboxError('INPUT', 'convert --from-sops: not yet implemented in this build; convert Bitnami files without --from-sops'));
}
