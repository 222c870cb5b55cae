/** Types of keyvault-server.mjs (plain ESM so that it runs as its own process). */
import type { SpecViolation } from './keyvault-check.js';

/** api-version values the stand-in answers. */
export const API_VERSIONS: ReadonlySet<string>;
/** Key Vault's limit on a secret's value. */
export const MAX_SECRET_BYTES: number;
/** Where tests read (and clear) the recorded violations (POST). */
export const VIOLATIONS_PATH: string;
/** Header that marks a request meant to break the spec. */
export const EXPECT_INVALID_HEADER: string;

/** Makes a self-signed TLS certificate for 127.0.0.1 and localhost; the certificate is also the CA to trust. */
export function makeTlsCertificate(): { certPem: string; keyPem: string };

export interface KeyVaultServerOptions {
  readonly certPem: string;
  readonly keyPem: string;
  readonly host?: string;
  readonly port?: number;
  readonly token?: string;
  readonly identityHeader?: string;
  /** Folder of keys.json and secrets.json; default ../shared/peers/azure-keyvault/7.6 beside the clone. */
  readonly specDir?: string;
  /** Dotted path of a field that every successful answer gets with a value of the wrong type. */
  readonly corruptField?: string;
  readonly onViolation?: (v: SpecViolation) => void;
}

export interface KeyVaultServer {
  readonly endpoint: string;
  readonly token: string;
  readonly identityEndpoint: string;
  readonly identityHeader: string;
  /** `METHOD /path api-version`, one per request. */
  readonly requests: string[];
  /** Mismatches with the spec not yet read through VIOLATIONS_PATH. */
  readonly violations: SpecViolation[];
  close(): Promise<void>;
}

/** Starts the stand-in in this process; rejects when the spec files cannot be loaded. */
export function startKeyVaultServer(o: KeyVaultServerOptions): Promise<KeyVaultServer>;
