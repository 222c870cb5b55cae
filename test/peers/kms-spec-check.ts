/**
 * vitest setup file of the `kms` project: after each test, the Key Vault
 * stand-in's record of requests and responses that did not match Microsoft's
 * OpenAPI spec is read and cleared, and any mismatch fails the test. Files
 * run in parallel against one stand-in, so a mismatch caused by a test of
 * another file can fail this one; the message names the request. What is
 * left after the last test fails the run in kms-global-setup.ts.
 */
import { afterEach } from 'vitest';
import { checkKmsStandIn } from './keyvault-check.js';

afterEach(async () => {
  await checkKmsStandIn();
});
