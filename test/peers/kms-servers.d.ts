/** Types of kms-servers.js (plain ESM so that node scripts can run it). */

/** A server started by this module. */
export interface Started {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:PORT` (moto) or `https://127.0.0.1:PORT` (Lowkey Vault). */
  readonly endpoint: string;
  /** PEM file of the certificate to trust for `endpoint` (Lowkey Vault). */
  readonly caFile?: string;
  readonly logFile: string;
  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and removes its pid file. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where pid files and logs go; default a per-user directory under the system temp dir. */
  readonly stateDir?: string;
  /** How long to wait for the server to answer. */
  readonly timeoutMs?: number;
}

export const defaultStateDir: string;
/** Returns a loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number>;
/** Installs (first time, test/peers/moto.sh) and starts moto's server. */
export function startMoto(opts?: StartOptions): Promise<Started>;
/** Installs (first time, test/peers/lowkey.sh) and starts Lowkey Vault. */
export function startLowkey(opts?: StartOptions): Promise<Started>;
/** Kills the servers whose pid files are in `stateDir`. */
export function stopFromState(stateDir: string): Promise<void>;
