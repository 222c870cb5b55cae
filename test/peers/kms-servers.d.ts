/** Types of kms-servers.js (plain ESM so that node scripts can run it). */

/** A server started by this module. */
export interface Started {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:PORT` (moto) or `https://127.0.0.1:PORT` (Lowkey Vault). */
  readonly endpoint: string;
  /** PEM file of the certificate to trust for `endpoint` (Key Vault stand-in, Lowkey Vault). */
  readonly caFile?: string;
  /** Bearer token the Key Vault stand-in accepts. */
  readonly token?: string;
  /** App Service managed-identity endpoint of the Key Vault stand-in (IDENTITY_ENDPOINT). */
  readonly identityEndpoint?: string;
  /** Secret header value for `identityEndpoint` (IDENTITY_HEADER). */
  readonly identityHeader?: string;
  readonly logFile: string;
  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and removes its pid file. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where pid files and logs go; default a per-user directory under the system temp dir. */
  readonly stateDir?: string;
  /** How long to wait for the server to answer. */
  readonly timeoutMs?: number;
  /** Listen on this loopback port (e.g. to restart a server where it was); default a free one. */
  readonly port?: number;
}

export const defaultStateDir: string;
/** Returns a loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number>;
/** Installs (first time, test/peers/moto.sh) and starts moto's server. */
export function startMoto(opts?: StartOptions): Promise<Started>;
/** Starts the Key Vault stand-in (test/peers/keyvault-server.mjs) with a fresh certificate. */
export function startKeyVault(opts?: StartOptions): Promise<Started>;
/** Installs (first time, test/peers/lowkey.sh) and starts Lowkey Vault. */
export function startLowkey(opts?: StartOptions): Promise<Started>;
/** Kills the servers whose pid files are in `stateDir`. */
export function stopFromState(stateDir: string): Promise<void>;
