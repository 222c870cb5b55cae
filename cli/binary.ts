// Entry point of the single executable (`npm run build:binary`, Node SEA).
// Built with a V8 startup snapshot: the modules' top-level code and building
// the commander program run once, at build time, and the executable starts
// from that heap; `main` then runs on each start with that process's argv,
// environment and streams (nothing here reads them before).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { buildProgram, main } from './program.js';

// names the certificate (a throwaway one scripts/build-binary.mjs makes) that the warm-up seals for
const WARM_UP_CERT_ENV = 'SEALBOX_SNAPSHOT_WARM_UP_CERT';

const SAMPLE = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata: {name: warm-up, namespace: build, labels: {app: warm-up}}',
  'type: Opaque',
  'stringData: {username: warm-up-user, password: warm-up-password-0123456789}',
  'data: {token: d2FybS11cC10b2tlbi0wMTIzNDU2Nzg5}',
  '',
].join('\n');

function run(program = buildProgram()): void {
  void main(process.argv, program).then((code) => {
    process.exitCode = code;
  });
}

/**
 * Seals and verifies a sample Secret once while the snapshot is built, in a
 * folder removed afterwards: V8 keeps the bytecode those functions compiled
 * in the snapshot, so a `seal` starts ~20% faster (docs/BENCHMARKS.md).
 * Rejects (failing the build) when either command fails.
 */
async function warmUp(cert: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-warm-up-'));
  const [input, output] = [join(dir, 'secret.yaml'), join(dir, 'sealed.yaml')];
  try {
    writeFileSync(input, SAMPLE);
    await buildProgram().parseAsync(['node', 'sealbox', 'seal', '--cert', cert, '-f', input, '-o', output]);
    await buildProgram().parseAsync(['node', 'sealbox', 'verify', output]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (startupSnapshot.isBuildingSnapshot()) {
  const program = buildProgram();
  startupSnapshot.setDeserializeMainFunction(() => {
    run(program);
  });
  const cert = process.env[WARM_UP_CERT_ENV];
  if (cert !== undefined && cert !== '') void warmUp(cert);
} else {
  run();
}
