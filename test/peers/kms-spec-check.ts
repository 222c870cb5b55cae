/**
 * vitest setup file of the `kms` project: after each test, and after each
 * file's own afterAll hooks, the Key Vault stand-in's record of requests and
 * responses that did not match Microsoft's OpenAPI spec is read and cleared,
 * and any mismatch fails the test (or the file). Files run in parallel
 * against one stand-in, so a mismatch caused by a test of another file can
 * fail this one; the message names the request. What is left after the last
 * file fails the run in kms-global-setup.ts.
 */
import { afterAll, afterEach } from 'vitest';
import { checkKmsStandIn } from './keyvault-check.js';

afterEach(async () => {
  await checkKmsStandIn();
});

afterAll(async () => {
  await checkKmsStandIn();
});
