/**
 * vitest globalSetup of the `kms` project: starts moto (AWS KMS) and the
 * Azure Key Vault test server once for all files, provides their endpoints,
 * and stops them afterwards. The Azure server is the stand-in
 * test/peers/keyvault-server.mjs, or Lowkey Vault with
 * SEALBOX_TEST_AZURE_PEER=lowkey (its jar must be installable, see
 * docs/KMS.md). A server that cannot be installed or started is provided as
 * `{ error }`, so the tests that need it fail with the reason (and the other
 * server's tests still run); nothing is skipped. The stand-in validates every
 * request and response against Microsoft's OpenAPI files; a mismatch fails
 * the test it happened in (kms-spec-check.ts), and any left at the end fails
 * the run here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { assertNoSpecViolations, drainSpecViolations } from './keyvault-check.js';
import type { KmsPeer, KmsPeers } from './kms-context.js';
import type { Started } from './kms-servers.js';
import { startKeyVault, startLowkey, startMoto } from './kms-servers.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sealbox-kms-'));
  const lowkey = process.env.SEALBOX_TEST_AZURE_PEER === 'lowkey';
  const [moto, azure] = await Promise.allSettled([startMoto({ stateDir }), lowkey ? startLowkey({ stateDir }) : startKeyVault({ stateDir })]);
  const started: Started[] = [];
  const peer = (r: PromiseSettledResult<Started>): KmsPeer => {
    if (r.status === 'rejected') return { error: r.reason instanceof Error ? r.reason.message : String(r.reason) };
    started.push(r.value);
    const { endpoint, caFile, token, identityEndpoint, identityHeader } = r.value;
    return {
      endpoint,
      ...(caFile === undefined ? {} : { caFile }),
      ...(token === undefined ? {} : { token }),
      ...(identityEndpoint === undefined || identityHeader === undefined ? {} : { identityEndpoint, identityHeader }),
    };
  };
  const azurePeer = peer(azure);
  const peers: KmsPeers = { moto: peer(moto), azure: 'error' in azurePeer ? azurePeer : { ...azurePeer, kind: lowkey ? 'lowkey' : 'keyvault-stand-in' } };
  project.provide('kmsPeers', peers);
  return async () => {
    const standIn = started.find((s) => s.name === 'keyvault');
    try {
      if (standIn?.caFile !== undefined) assertNoSpecViolations(await drainSpecViolations(standIn.endpoint, readFileSync(standIn.caFile, 'utf8')));
    } catch (err) {
      // vitest reports an error thrown here but still exits 0: the exit code must say it.
      process.exitCode = 1;
      throw err;
    } finally {
      await Promise.all(started.map((s) => s.stop()));
      rmSync(stateDir, { recursive: true, force: true });
    }
  };
}
