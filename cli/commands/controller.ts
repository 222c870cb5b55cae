import { Option } from 'commander';
import type { Command } from 'commander';
import { parseDuration, parseIntOption } from '../options.js';

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
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  logLevel: string;
  dataKeyCacheSize: number;
  kmsProviders: string;
  kmsTimeout: number;
  kmsAllow: string;
}

/** Registers `sealbox controller`, the container's entry point. */
export function registerController(program: Command): void {
  const opt = (flags: string, description: string, env: string): Option => new Option(flags, description).env(env);
  program
    .command('controller')
    .description('run the in-cluster controller (the container entry point)')
    .addOption(opt('--kubeconfig <file>', 'kubeconfig; default: in-cluster service account, then $KUBECONFIG', 'SEALBOX_KUBECONFIG'))
    .addOption(opt('--namespace <ns>', 'the controller\'s namespace (keys, lease, certificate ConfigMap)', 'POD_NAMESPACE').default('sealbox-system'))
    .addOption(opt('--watch-namespaces <list>', 'comma-separated namespaces to watch; empty for all', 'SEALBOX_WATCH_NAMESPACES').default(''))
    .addOption(opt('--listen <addr>', 'HTTP address for certificates, re-wrap, health and metrics', 'SEALBOX_LISTEN').default(':8080'))
    .addOption(opt('--workers <n>', 'concurrent reconciles', 'SEALBOX_WORKERS').default(4).argParser(parseIntOption))
    .addOption(opt('--kube-api-qps <n>', 'average API requests per second', 'SEALBOX_KUBE_API_QPS').default(50).argParser(parseIntOption))
    .addOption(opt('--kube-api-burst <n>', 'API request burst', 'SEALBOX_KUBE_API_BURST').default(100).argParser(parseIntOption))
    .addOption(opt('--key-rotation-period <duration>', 'add a new sealing key this often', 'SEALBOX_KEY_ROTATION_PERIOD').default(parseDuration('720h'), '720h').argParser(parseDuration))
    .addOption(opt('--key-bits <n>', 'RSA size of new sealing keys', 'SEALBOX_KEY_BITS').default(4096).argParser(parseIntOption))
    .addOption(opt('--key-check-interval <duration>', 'how often the leader checks rotation and publishes certificates', 'SEALBOX_KEY_CHECK_INTERVAL').default(parseDuration('30s'), '30s').argParser(parseDuration))
    .addOption(opt('--resync-period <duration>', 're-check every sealed resource this often', 'SEALBOX_RESYNC_PERIOD').default(parseDuration('10m'), '10m').argParser(parseDuration))
    .addOption(opt('--max-backoff <duration>', 'longest wait between retries of a failing resource', 'SEALBOX_MAX_BACKOFF').default(parseDuration('5m'), '5m').argParser(parseDuration))
    .addOption(opt('--fight-limit <n>', 'changes of a Secret back by another writer within a minute after which the controller pauses writing it (Conflict); 0 never pauses', 'SEALBOX_FIGHT_LIMIT').default(5).argParser(parseIntOption))
    .addOption(new Option('--no-leader-elect', 'run without leader election (one replica only)'))
    .addOption(opt('--lease-name <name>', 'Lease used for leader election', 'SEALBOX_LEASE_NAME').default('sealbox-controller'))
    .addOption(opt('--lease-duration <duration>', 'leader lease duration', 'SEALBOX_LEASE_DURATION').default(parseDuration('15s'), '15s').argParser(parseDuration))
    .addOption(opt('--renew-deadline <duration>', 'leader gives up after failing to renew this long', 'SEALBOX_RENEW_DEADLINE').default(parseDuration('10s'), '10s').argParser(parseDuration))
    .addOption(opt('--retry-period <duration>', 'leader election retry period', 'SEALBOX_RETRY_PERIOD').default(parseDuration('2s'), '2s').argParser(parseDuration))
    .addOption(opt('--log-level <level>', 'trace | debug | info | warn | error', 'SEALBOX_LOG_LEVEL').default('info'))
    .addOption(opt('--data-key-cache-size <n>', 'unwrapped data keys kept in memory', 'SEALBOX_DATA_KEY_CACHE_SIZE').default(100_000).argParser(parseIntOption))
    .addOption(opt('--kms-providers <list>', 'cloud key services to unwrap with the pod identity: aws, azure or aws,azure (docs/KMS.md); empty for none', 'SEALBOX_KMS_PROVIDERS').default(''))
    .addOption(opt('--kms-timeout <duration>', 'time limit of one KMS call, SDK retries included', 'SEALBOX_KMS_TIMEOUT').default(parseDuration('15s'), '15s').argParser(parseDuration))
    .addOption(opt('--kms-allow <list>', 'KMS keys the controller may call: default, azure:.SUFFIX, azure:HOST[:PORT], aws:ACCOUNT:REGION (* for any); comma-separated (docs/KMS.md)', 'SEALBOX_KMS_ALLOW').default('default'))
    .action(async (f: ControllerFlags) => {
      const { runController } = await import('../../src/controller/controller.js');
      const { parseKmsProviders } = await import('../../src/keys/kms-unwrapper.js');
      const { parseKmsAllow } = await import('../../src/keys/kms-allow.js');
      const kmsProviders = parseKmsProviders(f.kmsProviders);
      const kmsAllow = parseKmsAllow(f.kmsAllow, process.env);
      const running = await runController({
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
        leaseDurationMs: f.leaseDuration,
        renewDeadlineMs: f.renewDeadline,
        retryPeriodMs: f.retryPeriod,
        logLevel: f.logLevel,
        dataKeyCacheSize: f.dataKeyCacheSize,
        kmsProviders,
        kmsTimeoutMs: f.kmsTimeout,
        kmsAllow,
        onLostLeadership: () => {
          process.exit(1);
        },
      });
      await new Promise<void>((resolve) => {
        const shutdown = (): void => {
          running.log.info('shutting down');
          // Give in-flight work a few seconds, then go: the pod is being replaced.
          setTimeout(resolve, 5000).unref();
          running.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
      process.exit(0);
    });
}
