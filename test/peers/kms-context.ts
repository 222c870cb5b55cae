/** What the `kms` project's globalSetup provides to tests, and how tests read it. */
import { inject } from 'vitest';

/** A started server, or why it could not be started. */
export type KmsPeer =
  | {
    readonly endpoint: string;
    readonly caFile?: string;
    /** Bearer token the Azure peer accepts (Key Vault stand-in only; Lowkey accepts any). */
    readonly token?: string;
    /** App Service managed-identity endpoint and header (Key Vault stand-in only). */
    readonly identityEndpoint?: string;
    readonly identityHeader?: string;
    /** Which server plays Azure Key Vault: the stand-in or Lowkey Vault. */
    readonly kind?: 'keyvault-stand-in' | 'lowkey';
  }
  | { readonly error: string };

export interface KmsPeers {
  readonly moto: KmsPeer;
  /** Azure Key Vault: test/peers/keyvault-server.mjs, or Lowkey Vault with SEALBOX_TEST_AZURE_PEER=lowkey. */
  readonly azure: KmsPeer;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kmsPeers: KmsPeers;
  }
}

/** A peer that is running. */
export type RunningPeer = Exclude<KmsPeer, { error: string }>;

/**
 * Returns the endpoint (and CA file, token) of a KMS test server. Throws,
 * failing the test, when the server could not be started, or when the file
 * does not run in the `kms` project.
 */
export function kmsPeer(name: keyof KmsPeers): RunningPeer {
  const peers = inject('kmsPeers') as KmsPeers | undefined;
  if (peers === undefined) throw new Error('no KMS test servers: run this file in the vitest project "kms"');
  const peer = peers[name];
  if ('error' in peer) throw new Error(`KMS test server ${name} is not available: ${peer.error}`);
  return peer;
}
