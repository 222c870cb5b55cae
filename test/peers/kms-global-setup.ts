/**
 * vitest globalSetup of the `kms` project: starts moto (AWS KMS) and Lowkey
 * Vault (Azure Key Vault) once for all files, provides their endpoints, and
 * stops them afterwards. A server that cannot be installed or started is
 * provided as `{ error }`, so the tests that need it fail with the reason
 * (and the other server's tests still run); nothing is skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { KmsPeers } from './kms-context.js';
import type { Started } from './kms-servers.js';
import { startLowkey, startMoto } from './kms-servers.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sealbox-kms-'));
  const [moto, lowkey] = await Promise.allSettled([startMoto({ stateDir }), startLowkey({ stateDir })]);
  const started: Started[] = [];
  const peer = (r: PromiseSettledResult<Started>) => {
    if (r.status === 'rejected') return { error: r.reason instanceof Error ? r.reason.message : String(r.reason) };
    started.push(r.value);
    return { endpoint: r.value.endpoint, ...(r.value.caFile === undefined ? {} : { caFile: r.value.caFile }) };
  };
  const peers: KmsPeers = { moto: peer(moto), lowkey: peer(lowkey) };
  project.provide('kmsPeers', peers);
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
    rmSync(stateDir, { recursive: true, force: true });
  };
}
