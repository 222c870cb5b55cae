import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import type { KeySecret } from '../../src/keys/backup.js';
import { CERTS_CONFIGMAP, ROTATE_ANNOTATION } from '../../src/kube/names.js';
import type { V1Secret } from '../../src/kube/types.js';
import { addClusterOptions, connect } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { readText, writeOutput } from '../io.js';

interface BackupFlags extends ClusterFlags {
  output?: string;
  toAzureSecret?: string;
}

interface ImportFlags extends ClusterFlags {
  fromSealedSecrets?: boolean;
  sealedSecretsNamespace: string;
  file?: string;
  sealWith?: boolean;
}

interface RestoreFlags extends ClusterFlags {
  file?: string;
  fromAzureSecret?: string;
}

/** Registers `sealbox keys` (cluster sealing keys). */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("manage the controller's sealing keys");
  addClusterOptions(
    keys.command('rotate').description('ask the controller to add a new sealing key now (old keys are kept for unsealing)'),
  ).action(async (flags: ClusterFlags) => {
    const api = await connect(flags);
    const stamp = new Date().toISOString();
    await api.annotateConfigMap(flags.controllerNamespace, CERTS_CONFIGMAP, { [ROTATE_ANNOTATION]: stamp });
    process.stderr.write(`rotation requested (${stamp}); the controller adds a key within its key-check interval. Then run "sealbox reseal" on your sealed files.\n`);
  });
  addClusterOptions(
    keys.command('backup')
      .description("export the controller's sealing keys (private keys!) to a file (mode 0600) or an Azure Key Vault secret")
      .option('-o, --output <file>', 'write the backup here (mode 0600, atomically); - for stdout')
      .option('--to-azure-secret <id>', 'store the backup as a new version of https://VAULT/secrets/NAME (default Azure credentials)'),
  ).action(async (flags: BackupFlags) => {
    if (flags.output === undefined && flags.toAzureSecret === undefined) {
      throw new SealboxError('INPUT', 'say where the backup goes: -o FILE (or - for stdout) or --to-azure-secret https://VAULT/secrets/NAME');
    }
    const { buildBackup } = await import('../../src/keys/backup.js');
    const { SEALING_KEY_LABEL } = await import('../../src/keys/key-secret.js');
    const api = await connect(flags);
    const secrets = await api.listSecrets(flags.controllerNamespace, `${SEALING_KEY_LABEL}=true`);
    const text = buildBackup(secrets.map(keySecretOf), flags.controllerNamespace);
    if (flags.output !== undefined) await writeOutput(flags.output, text, 0o600);
    if (flags.toAzureSecret !== undefined) {
      const { writeAzureSecretBackup } = await import('../../src/keys/azure-secrets.js');
      const id = await writeAzureSecretBackup(flags.toAzureSecret, text, await azureOptions());
      process.stderr.write(`stored in ${id}\n`);
    }
    process.stderr.write(`backed up ${secrets.length} sealing key(s) of namespace "${flags.controllerNamespace}"\n`);
  });
  registerImport(keys);
  addClusterOptions(
    keys.command('restore')
      .description('restore sealing keys from a backup into the controller namespace, so a rebuilt cluster unseals what was sealed before')
      .option('-f, --file <file>', 'backup file; - for stdin')
      .option('--from-azure-secret <id>', 'read the backup from https://VAULT/secrets/NAME[/VERSION] (default Azure credentials)'),
  ).action(async (flags: RestoreFlags) => {
    if ((flags.file === undefined) === (flags.fromAzureSecret === undefined)) {
      throw new SealboxError('INPUT', 'say where the backup comes from: -f FILE or --from-azure-secret https://VAULT/secrets/NAME');
    }
    let text: string;
    let source: string;
    if (flags.fromAzureSecret !== undefined) {
      const { readAzureSecretBackup } = await import('../../src/keys/azure-secrets.js');
      text = await readAzureSecretBackup(flags.fromAzureSecret, await azureOptions());
      source = flags.fromAzureSecret;
    } else {
      text = await readText(flags.file ?? '-');
      source = flags.file === '-' || flags.file === undefined ? 'standard input' : flags.file;
    }
    await restore(text, source, flags);
  });
}

/** Registers `sealbox keys import` (Sealed Secrets' keys; docs/MIGRATION.md). */
function registerImport(keys: Command): void {
  addClusterOptions(
    keys.command('import')
      .description("import Sealed Secrets' keys as sealing keys that unseal (not seal, unless --seal-with) bitnami SealedSecrets and sealbox resources")
      .option('--from-sealed-secrets', "import the keys of a Sealed Secrets controller (Secrets labelled sealedsecrets.bitnami.com/sealed-secrets-key)")
      .option('--sealed-secrets-namespace <ns>', "Sealed Secrets' namespace, when reading the keys from the cluster", 'kube-system')
      .option('-f, --file <file>', 'read the keys from a "kubectl get secret -o yaml" backup (List or multi-document) instead of the cluster; - for stdin')
      .option('--seal-with', 'also seal with the newest imported key from now on, until the next rotation (default: imported keys only unseal)'),
  ).action(async (flags: ImportFlags) => {
    if (flags.fromSealedSecrets !== true) throw new SealboxError('INPUT', 'say what to import: --from-sealed-secrets');
    const { importKeys, keySecretsFromFile, SEALED_SECRETS_KEY_LABEL } = await import('../../src/keys/import.js');
    const api = await connect(flags);
    const foreign = flags.file === undefined
      ? (await api.listSecrets(flags.sealedSecretsNamespace, SEALED_SECRETS_KEY_LABEL)).map((s) => ({ namespace: s.metadata?.namespace ?? '', name: s.metadata?.name ?? '', creationTimestamp: timestamp(s.metadata?.creationTimestamp), data: s.data ?? {} }))
      : keySecretsFromFile(await readText(flags.file), flags.file === '-' ? 'standard input' : flags.file);
    if (foreign.length === 0) throw new SealboxError('INPUT', `no Sealed Secrets keys in namespace "${flags.sealedSecretsNamespace}" (Secrets labelled ${SEALED_SECRETS_KEY_LABEL}); pass --sealed-secrets-namespace, or -f with a backup`);
    const now = new Date();
    // --seal-with: the newest of the imported keys seals from now on.
    const newest = foreign.reduce((best, f, i) => ((f.creationTimestamp ?? '') > (foreign[best]?.creationTimestamp ?? '') ? i : best), 0);
    const imported = foreign.flatMap((f, i) => importKeys([f], now, flags.sealWith === true && i === newest ? now : undefined));
    const chosen = flags.sealWith === true ? imported[newest] : undefined;
    const ns = flags.controllerNamespace;
    let created = 0;
    for (const k of imported) {
      if ((await api.getSecret(ns, k.secret.metadata.name)) !== undefined) continue;
      await api.createSecret({ apiVersion: 'v1', kind: 'Secret', ...k.secret, metadata: { ...k.secret.metadata, namespace: ns } });
      created++;
    }
    process.stderr.write(`imported ${String(created)} Sealed Secrets key(s) into namespace "${ns}"; ${String(imported.length - created)} were already there${chosen === undefined ? '; they unseal only' : `; new seals use ${chosen.fingerprint.slice(0, 12)} until the next rotation`}\n`);
  });
}

function timestamp(t: Date | string | undefined): string | undefined {
  return t === undefined ? undefined : t instanceof Date ? t.toISOString() : t;
}

/** The fields of a Kubernetes Secret the backup keeps. */
function keySecretOf(s: V1Secret): KeySecret {
  const creationTimestamp = s.metadata?.creationTimestamp;
  return {
    name: s.metadata?.name ?? '',
    labels: s.metadata?.labels ?? {},
    annotations: s.metadata?.annotations ?? {},
    type: s.type ?? 'kubernetes.io/tls',
    data: s.data ?? {},
    ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
  };
}

/**
 * Creates every key of the backup that the namespace lacks, after checking
 * all of them. A key already there (same fingerprint) is left alone; a
 * different key under the same name is refused. Throws SealboxError.
 */
async function restore(text: string, source: string, flags: ClusterFlags): Promise<void> {
  const { parseBackup, checkKeySecret } = await import('../../src/keys/backup.js');
  const { SEALING_KEY_LABEL } = await import('../../src/keys/key-secret.js');
  const backup = parseBackup(text, source);
  const ns = flags.controllerNamespace;
  const api = await connect(flags);
  const present = new Map<string, string>();
  for (const s of await api.listSecrets(ns, `${SEALING_KEY_LABEL}=true`)) {
    const k = keySecretOf(s);
    try {
      present.set(checkKeySecret(k, `namespace "${ns}"`), k.name);
    } catch {
      // an unusable key Secret in the cluster: the controller ignores it, so do we
    }
  }
  let created = 0;
  for (const k of backup) {
    if (present.has(k.fingerprint)) continue;
    const existing = await api.getSecret(ns, k.secret.name);
    if (existing !== undefined) {
      throw new SealboxError('INPUT', `secret "${ns}/${k.secret.name}" exists and holds another key; restore into an empty namespace or remove it first`);
    }
    await api.createSecret({
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: k.secret.name, namespace: ns, labels: { ...k.secret.labels }, annotations: { ...k.secret.annotations } },
      type: k.secret.type, data: { ...k.secret.data },
    });
    created++;
  }
  process.stderr.write(`restored ${created} sealing key(s) into namespace "${ns}"; ${backup.length - created} were already there\n`);
}

async function azureOptions(): Promise<{ disableChallengeResourceVerification?: boolean }> {
  const { kmsOptionsFromEnv } = await import('../../src/keys/kms-spec.js');
  return kmsOptionsFromEnv(process.env).azure ?? {};
}
