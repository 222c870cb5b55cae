import type { Command } from 'commander';
import { addClusterOptions, connect } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';

/** Registers `sealbox keys` (cluster sealing keys). */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("manage the controller's sealing keys");
  addClusterOptions(
    keys.command('rotate').description('ask the controller to add a new sealing key now (old keys are kept for unsealing)'),
  ).action(async (flags: ClusterFlags) => {
    const { CERTS_CONFIGMAP, ROTATE_ANNOTATION } = await import('../../src/controller/keys.js');
    const api = await connect(flags);
    const stamp = new Date().toISOString();
    await api.annotateConfigMap(flags.controllerNamespace, CERTS_CONFIGMAP, { [ROTATE_ANNOTATION]: stamp });
    process.stderr.write(`rotation requested (${stamp}); the controller adds a key within its key-check interval. Then run "sealbox reseal" on your sealed files.\n`);
  });
}
