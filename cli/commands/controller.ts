import { Option } from 'commander';
import type { Command } from 'commander';
import type { ControllerOptions, RunningController } from '../../src/controller/controller.js';
import { parseDuration, parseIntOption } from '../options.js';
import { COMPAT_DATA_KEY_CACHE_SIZE, COMPAT_RSA_PER_NAMESPACE_PER_MINUTE } from '../../src/controller/compat/budget.js';

interface ControllerFlags {
  kubeconfig?: string;
  namespace: string;
  watchNamespaces: string;
  listen: string;
  workers: number;
  kubeApiQps: number;
  kubeApiBurst: number;
  keyRotationPeriod: number;
  keyBits: number;
  keyCheckInterval: number;
  resyncPeriod: number;
  maxBackoff: number;
  fightLimit: number;
  leaderElect: boolean;
  leaseName: string;
  shards: number;
  shard?: number;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  logLevel: string;
  events: 'all' | 'warnings';
  dataKeyCacheSize: number;
  kmsProviders: string;
  kmsTimeout: number;
  kmsAllow: string;
  sealedSecretsCompat: boolean;
  compatRsaPerNamespacePerMinute: number;
  compatDataKeyCacheSize: number;
}

/** The options of `sealbox controller`, each with its environment variable; see README "Controller flags". */
function controllerOptions(): Option[] {
  const opt = (flags: string, description: string, env: string): Option => new Option(flags, description).env(env);
  return [
    opt('--kubeconfig <file>', 'kubeconfig; default: in-cluster service account, then $KUBECONFIG', 'SEALBOX_KUBECONFIG'),
    opt('--namespace <ns>', 'the controller\'s namespace (keys, lease, certificate ConfigMap)', 'POD_NAMESPACE').default('sealbox-system'),
    opt('--watch-namespaces <list>', 'comma-separated namespaces to watch; empty for all', 'SEALBOX_WATCH_NAMESPACES').default(''),
    opt('--listen <addr>', 'HTTP address for certificates, re-wrap, health and metrics', 'SEALBOX_LISTEN').default(':8080'),
    opt('--workers <n>', 'concurrent reconciles', 'SEALBOX_WORKERS').default(4).argParser(parseIntOption),
    opt('--kube-api-qps <n>', 'average API requests per second', 'SEALBOX_KUBE_API_QPS').default(50).argParser(parseIntOption),
    opt('--kube-api-burst <n>', 'API request burst', 'SEALBOX_KUBE_API_BURST').default(100).argParser(parseIntOption),
    opt('--key-rotation-period <duration>', 'add a new sealing key this often', 'SEALBOX_KEY_ROTATION_PERIOD').default(parseDuration('720h'), '720h').argParser(parseDuration),
    opt('--key-bits <n>', 'RSA size of new sealing keys', 'SEALBOX_KEY_BITS').default(4096).argParser(parseIntOption),
    opt('--key-check-interval <duration>', 'how often the leader checks rotation and publishes certificates', 'SEALBOX_KEY_CHECK_INTERVAL').default(parseDuration('30s'), '30s').argParser(parseDuration),
    opt('--resync-period <duration>', 're-check every sealed resource this often', 'SEALBOX_RESYNC_PERIOD').default(parseDuration('10m'), '10m').argParser(parseDuration),
    opt('--max-backoff <duration>', 'longest wait between retries of a failing resource', 'SEALBOX_MAX_BACKOFF').default(parseDuration('5m'), '5m').argParser(parseDuration),
    opt('--fight-limit <n>', 'changes of a Secret back by another writer within a minute after which the controller pauses writing it (Conflict); 0 never pauses', 'SEALBOX_FIGHT_LIMIT').default(5).argParser(parseIntOption),
    new Option('--no-leader-elect', 'run without leader election (one replica only)'),
    opt('--lease-name <name>', 'Lease used for leader election (shard 0\'s with --shards; shard s uses <name>-shard-<s>)', 'SEALBOX_LEASE_NAME').default('sealbox-controller'),
    opt('--shards <n>', 'spread sealed resources over this many shards by namespace, one Lease each; every replica reconciles the shards it holds (docs/DEPLOY.md "Sharding")', 'SEALBOX_SHARDS').default(1).argParser(parseIntOption),
    opt('--shard <k>', 'the shard this replica prefers; default: the ordinal suffix of its pod name (StatefulSet), none for other names', 'SEALBOX_SHARD').argParser(parseIntOption),
    opt('--lease-duration <duration>', 'leader lease duration', 'SEALBOX_LEASE_DURATION').default(parseDuration('15s'), '15s').argParser(parseDuration),
    opt('--renew-deadline <duration>', 'leader gives up after failing to renew this long', 'SEALBOX_RENEW_DEADLINE').default(parseDuration('10s'), '10s').argParser(parseDuration),
    opt('--retry-period <duration>', 'leader election retry period', 'SEALBOX_RETRY_PERIOD').default(parseDuration('2s'), '2s').argParser(parseDuration),
    opt('--log-level <level>', 'trace | debug | info | warn | error', 'SEALBOX_LOG_LEVEL').default('info'),
    opt('--events <types>', 'Events to record on sealed resources: all, or warnings (no Normal Created/Updated/Recreated events: one API write less per synced Secret)', 'SEALBOX_EVENTS').choices(['all', 'warnings']).default('all'),
    opt('--data-key-cache-size <n>', 'unwrapped data keys kept in memory, the least recently used dropped first (docs/DEPLOY.md "Memory per sealed resource")', 'SEALBOX_DATA_KEY_CACHE_SIZE').default(10_000).argParser(parseIntOption),
    opt('--kms-providers <list>', 'cloud key services to unwrap with the pod identity: aws, azure or aws,azure (docs/KMS.md); empty for none', 'SEALBOX_KMS_PROVIDERS').default(''),
    opt('--kms-timeout <duration>', 'time limit of one KMS call, SDK retries included', 'SEALBOX_KMS_TIMEOUT').default(parseDuration('15s'), '15s').argParser(parseDuration),
    opt('--sealed-secrets-compat', 'act as a drop-in for the Sealed Secrets controller: reconcile bitnami.com/v1alpha1 SealedSecrets as it does (needs deploy/compat/: CRD and RBAC), serve kubeseal\'s /v1/verify and /v1/rotate, label new keys as Sealed Secrets does (docs/MIGRATION.md)', 'SEALBOX_SEALED_SECRETS_COMPAT').default(false),
    opt('--compat-rsa-per-namespace-per-minute <n>', 'with --sealed-secrets-compat: RSA private operations one namespace\'s SealedSecrets may cost a minute; beyond it their unseal waits (status says so); 0 for no limit', 'SEALBOX_COMPAT_RSA_PER_NAMESPACE_PER_MINUTE').default(COMPAT_RSA_PER_NAMESPACE_PER_MINUTE).argParser(parseIntOption),
    opt('--compat-data-key-cache-size <n>', 'with --sealed-secrets-compat: Sealed Secrets session keys kept in memory; a resync unseals every value again and costs no RSA operation while its key is kept', 'SEALBOX_COMPAT_DATA_KEY_CACHE_SIZE').default(COMPAT_DATA_KEY_CACHE_SIZE).argParser(parseIntOption),
    opt('--kms-allow <list>', 'KMS keys the controller may call: default, azure:.SUFFIX, azure:HOST[:PORT], aws:ACCOUNT:REGION (* for any); comma-separated (docs/KMS.md)', 'SEALBOX_KMS_ALLOW').default('default'),
  ];
}

/** The ControllerOptions the flags ask for; exits the process on a fatal controller failure. */
async function optionsFrom(f: ControllerFlags): Promise<ControllerOptions> {
  const { parseKmsProviders } = await import('../../src/keys/kms-unwrapper.js');
  const { parseKmsAllow } = await import('../../src/keys/kms-allow.js');
  return {
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    namespace: f.namespace,
    watchNamespaces: f.watchNamespaces.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    listen: f.listen,
    workers: f.workers,
    qps: f.kubeApiQps,
    burst: f.kubeApiBurst,
    keyRotationPeriodMs: f.keyRotationPeriod,
    keyBits: f.keyBits,
    keyCheckIntervalMs: f.keyCheckInterval,
    resyncPeriodMs: f.resyncPeriod,
    maxBackoffMs: f.maxBackoff,
    fightLimit: f.fightLimit,
    leaderElect: f.leaderElect,
    leaseName: f.leaseName,
    shards: f.shards,
    ...(f.shard === undefined ? {} : { shard: f.shard }),
    leaseDurationMs: f.leaseDuration,
    renewDeadlineMs: f.renewDeadline,
    retryPeriodMs: f.retryPeriod,
    logLevel: f.logLevel,
    events: f.events,
    dataKeyCacheSize: f.dataKeyCacheSize,
    kmsProviders: parseKmsProviders(f.kmsProviders),
    kmsTimeoutMs: f.kmsTimeout,
    kmsAllow: parseKmsAllow(f.kmsAllow, process.env),
    sealedSecretsCompat: f.sealedSecretsCompat,
    compatRsaPerNamespacePerMinute: f.compatRsaPerNamespacePerMinute,
    compatDataKeyCacheSize: f.compatDataKeyCacheSize,
    onFatal: () => {
      process.exit(1);
    },
  };
}

/** Resolves once SIGTERM or SIGINT has stopped the controller, or 5 s after the signal. */
function untilSignal(running: RunningController): Promise<void> {
  return new Promise<void>((resolve) => {
    const shutdown = (): void => {
      running.log.info('shutting down');
      // Give in-flight work a few seconds, then go: the pod is being replaced.
      setTimeout(resolve, 5000).unref();
      running.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}

/** Registers `sealbox controller`, the container's entry point. */
export function registerController(program: Command): void {
  const command = program
    .command('controller')
    .description('run the in-cluster controller (the container entry point)');
  for (const option of controllerOptions()) command.addOption(option);
  command.action(async (f: ControllerFlags) => {
    const { runController } = await import('../../src/controller/controller.js');
    await untilSignal(await runController(await optionsFrom(f)));
    process.exit(0);
  });
}
