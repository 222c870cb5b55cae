#!/usr/bin/env node
// A kubeconfig exec credential plugin (client.authentication.k8s.io/v1) that
// hands out SEALBOX_TEST_TOKEN for the first SEALBOX_TEST_SUCCEED calls and
// fails every call after, as a plugin whose cloud login expired does. It
// numbers its calls by creating the directories 1, 2, ... under
// SEALBOX_TEST_COUNTER (mkdir is atomic: concurrent calls never share a
// number). No expirationTimestamp: the client runs it for every request.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const counter = process.env.SEALBOX_TEST_COUNTER ?? '';
mkdirSync(counter, { recursive: true });
let call = 1;
for (;; call++) {
  try {
    mkdirSync(join(counter, String(call)));
    break;
  } catch (err) {
    if (err?.code !== 'EEXIST') throw err;
  }
}
if (call > Number(process.env.SEALBOX_TEST_SUCCEED ?? '0')) {
  process.stderr.write(`credential plugin: login expired (call ${call})\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1',
  kind: 'ExecCredential',
  status: { token: process.env.SEALBOX_TEST_TOKEN ?? '' },
}));
