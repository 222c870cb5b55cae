/**
 * Reads what the Key Vault stand-in (keyvault-server.mjs) found when it
 * validated requests and responses against Microsoft's OpenAPI files, and
 * turns any mismatch into a test failure (docs/KMS.md "Held to the
 * specification").
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { inject } from 'vitest';
import type { KmsPeers } from './kms-context.js';

/** Where the stand-in serves its violations (VIOLATIONS_PATH in keyvault-server.mjs). */
const VIOLATIONS_PATH = '/_sealbox/spec-violations';

/** A request or response of the stand-in that does not match the spec. */
export interface SpecViolation {
  /** `METHOD /path` */
  readonly request: string;
  readonly operationId?: string;
  readonly where: 'request' | 'response';
  readonly status?: number;
  readonly errors: readonly string[];
}

/** What the stand-in reports, and clears, on each read. */
export interface SpecReport {
  readonly violations: readonly SpecViolation[];
  /** Requests and responses validated since the server started. */
  readonly checked: number;
}

/**
 * Returns the violations the stand-in at `endpoint` recorded since the last
 * read (and clears them there). Throws when the server does not answer.
 */
export function drainSpecViolations(endpoint: string, caPem: string): Promise<SpecReport> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}${VIOLATIONS_PATH}`, { method: 'POST', ca: caPem, timeout: 10_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Error(`key vault stand-in: ${VIOLATIONS_PATH} answered ${String(res.statusCode)}`)); return; }
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as SpecReport);
      });
    });
    req.on('error', reject);
    req.on('timeout', () => { req.destroy(new Error(`key vault stand-in: no answer from ${VIOLATIONS_PATH}`)); });
    req.end();
  });
}

/** One line per violation: which request, which operation, what did not match. */
export function describeViolations(violations: readonly SpecViolation[]): string {
  return violations.map((v) => {
    const what = v.where === 'response' ? `response ${String(v.status)}` : 'request';
    return `${v.request} (${v.operationId ?? 'no operation'}): ${what}: ${v.errors.join('; ')}`;
  }).join('\n');
}

/** Throws, listing them, when `report` holds violations. */
export function assertNoSpecViolations(report: SpecReport): void {
  if (report.violations.length === 0) return;
  throw new Error(`the Key Vault stand-in met ${String(report.violations.length)} mismatch(es) with Microsoft's OpenAPI spec `
    + `(../shared/peers/azure-keyvault/7.6):\n${describeViolations(report.violations)}`);
}

/**
 * Fails when the `kms` project's Key Vault stand-in recorded violations since
 * the last check. Does nothing when the Azure peer is Lowkey Vault or could
 * not be started (the Azure tests fail with that reason themselves).
 */
export async function checkKmsStandIn(): Promise<void> {
  const peers = inject('kmsPeers') as KmsPeers | undefined;
  const azure = peers?.azure;
  if (azure === undefined || 'error' in azure || azure.kind !== 'keyvault-stand-in' || azure.caFile === undefined) return;
  assertNoSpecViolations(await drainSpecViolations(azure.endpoint, readFileSync(azure.caFile, 'utf8')));
}
