/** What the `kms` project's globalSetup provides to tests, and how tests read it. */
import { inject } from 'vitest';

/** A started server, or why it could not be started. */
export type KmsPeer = { readonly endpoint: string; readonly caFile?: string } | { readonly error: string };

export interface KmsPeers {
  readonly moto: KmsPeer;
  readonly lowkey: KmsPeer;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kmsPeers: KmsPeers;
  }
}

/**
 * Returns the endpoint (and CA file) of a KMS test server. Throws, failing
 * the test, when the server could not be started, or when the file does not
 * run in the `kms` project.
 */
export function kmsPeer(name: keyof KmsPeers): { endpoint: string; caFile?: string } {
  const peers = inject('kmsPeers') as KmsPeers | undefined;
  if (peers === undefined) throw new Error('no KMS test servers: run this file in the vitest project "kms"');
  const peer = peers[name];
  if ('error' in peer) throw new Error(`KMS test server ${name} is not available: ${peer.error}`);
  return peer;
}
