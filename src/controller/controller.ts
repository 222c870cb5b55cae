/**
 * Wires the controller together: key manager and HTTP server on every
 * replica; informers, work queue and reconciler only on the leader.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper } from '../crypto/types.js';
import type { KmsProvider } from '../keys/kms-unwrapper.js';
import { KmsStanzaUnwrapper } from '../keys/kms-unwrapper.js';
import { DEFAULT_KMS_TIMEOUT_MS } from '../keys/kms-common.js';
import { withKmsDeadline } from '../keys/kms-deadline.js';
import type { KmsAllowlist } from '../keys/kms-allow.js';
import { parseKmsAllow } from '../keys/kms-allow.js';
import type { KmsSpecOptions } from '../keys/kms-spec.js';
import { kmsOptionsFromEnv } from '../keys/kms-spec.js';
import { EventRecorder } from './events.js';
import { FIGHT_DEFAULTS, FightDetector } from './fights.js';
import { KeyManager } from './keys.js';
import { KubeApi } from '../kube/api.js';
import { loadKubeConfig } from '../kube/config.js';
import type { KubeInformer, SealedSecretObject, V1Secret } from '../kube/types.js';
import { LeaderElector } from './leader.js';
import { LogLimiter, createLogger } from './log.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { MANAGED_LABEL, MANAGED_VALUE } from './plan.js';
import { Reconciler } from './reconciler.js';
import { WorkQueue } from './queue.js';
import { summarizeSecret } from './secret-cache.js';
import { startServer } from './server.js';

/** Everything `sealbox controller` can be told; see README "Controller flags". */
export interface ControllerOptions {
  readonly kubeconfig?: string;
  /** The controller's own namespace: keys, lease and certificate ConfigMap live here. */
  readonly namespace: string;
  /** Namespaces to watch; empty for the whole cluster. */
  readonly watchNamespaces: readonly string[];
  readonly listen: string;
  readonly workers: number;
  readonly qps: number;
  readonly burst: number;
  readonly keyRotationPeriodMs: number;
  readonly keyBits: number;
  readonly keyCheckIntervalMs: number;
  readonly resyncPeriodMs: number;
  readonly maxBackoffMs: number;
  /** Reverts of a Secret within a minute before the controller pauses writing it (Conflict); 0: never (default 5). */
  readonly fightLimit?: number;
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logLevel: string;
  readonly dataKeyCacheSize: number;
  readonly identity?: string;
  readonly extraUnwrappers?: readonly KeyUnwrapper[];
  /**
   * Cloud key services whose stanzas the controller unwraps, with the pod's
   * identity (default credential chains) and the endpoints of the
   * environment (docs/KMS.md); every call is counted in sealbox_kms_calls_total.
   */
  readonly kmsProviders?: readonly KmsProvider[];
  /** Endpoint, credential and TLS options of the KMS keys (default: kmsOptionsFromEnv(process.env)). */
  readonly kmsOptions?: KmsSpecOptions;
  /** Time limit of one KMS call, SDK retries included (default 15 s). */
  readonly kmsTimeoutMs?: number;
  /** KMS keys the controller may call (`--kms-allow`; default: parseKmsAllow('', process.env)). */
  readonly kmsAllow?: KmsAllowlist;
  /** Called when leadership is lost; the CLI exits so the pod restarts cleanly. */
  readonly onLostLeadership?: () => void;
}

/** A running controller. */
export interface RunningController {
  readonly log: Logger;
  readonly server: Server;
  stop(): Promise<void>;
}

function ownerKey(s: V1Secret): string | undefined {
  const ref = (s.metadata?.ownerReferences ?? []).find((r) => r.controller === true && r.kind === 'SealedSecret');
  return ref === undefined ? undefined : `${s.metadata?.namespace ?? ''}/${ref.name}`;
}

function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/**
 * The unwrapper of the enabled KMS providers (none when none is enabled),
 * counting its calls, calling only allowed keys, with errors of a fixed form.
 */
function kmsUnwrappers(o: ControllerOptions, metrics: Metrics, log: Logger): KeyUnwrapper[] {
  const providers = o.kmsProviders ?? [];
  if (providers.length === 0) return [];
  const base = o.kmsOptions ?? kmsOptionsFromEnv(process.env);
  const timeout = o.kmsTimeoutMs === undefined ? {} : { timeoutMs: o.kmsTimeoutMs };
  return [new KmsStanzaUnwrapper({
    providers,
    options: { aws: { ...base.aws, ...timeout }, azure: { ...base.azure, ...timeout } },
    onCall: (provider, result) => { metrics.kmsCalls.inc({ provider, result }); },
    allow: o.kmsAllow ?? parseKmsAllow('', process.env),
    fixedErrors: true,
    onFailure: (provider, err) => { log.debug({ provider, err: err instanceof Error ? err.message : String(err) }, 'kms unwrap failed'); },
  })];
}

/** Starts the controller; resolves once the HTTP server listens and keys are being watched. */
export async function runController(o: ControllerOptions): Promise<RunningController> {
  const log = createLogger(o.logLevel);
  const metrics = new Metrics();
  const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const api = new KubeApi(loadKubeConfig(o.kubeconfig), { qps: o.qps, burst: o.burst, onRequest: (verb, resource) => metrics.apiRequests.inc({ verb, resource }) });
  const cache = new DataKeyCache(o.dataKeyCacheSize);
  const extraUnwrappers: readonly KeyUnwrapper[] = [...(o.extraUnwrappers ?? []), ...kmsUnwrappers(o, metrics, log)];
  // Each reconcile and each re-wrap request spends at most this long on KMS calls.
  const kmsBudget = 2 * (o.kmsTimeoutMs ?? DEFAULT_KMS_TIMEOUT_MS);
  const events = new EventRecorder(api, log, identity, { onDedupeBytes: (bytes) => metrics.eventDedupeBytes.set(bytes) });
  const logLimit = new LogLimiter();
  const scopes: (string | undefined)[] = o.watchNamespaces.length === 0 ? [undefined] : [...o.watchNamespaces];
  const sealedInformers: KubeInformer<SealedSecretObject>[] = [];
  const secretInformers: KubeInformer<V1Secret>[] = [];
  let synced = false;
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];

  const keys: KeyManager = new KeyManager({ api, namespace: o.namespace, rotationPeriodMs: o.keyRotationPeriodMs, keyBits: o.keyBits, log, metrics, onChange: () => { enqueueAll(true); } });
  const reconciler = new Reconciler({
    api, metrics, log, events, cache,
    getSealed: (ns, name) => sealedInformers.map((i) => i.get(name, ns)).find((x) => x !== undefined),
    getCachedSecret: (ns, name) => secretInformers.map((i) => i.get(name, ns)).find((x) => x !== undefined),
    unwrappers: () => withKmsDeadline([...keys.keys.map((k) => k.identity), ...extraUnwrappers], kmsBudget),
    fingerprints: () => new Set(keys.keys.map((k) => k.fingerprint)),
    afterUnseal: () => keys.countRsaOps(),
    logLimit,
    fights: new FightDetector({ ...FIGHT_DEFAULTS, maxReverts: o.fightLimit ?? FIGHT_DEFAULTS.maxReverts }),
  });
  const queue = new WorkQueue((key) => reconciler.reconcile(key), {
    workers: o.workers,
    baseDelayMs: 1000,
    maxDelayMs: o.maxBackoffMs,
    onRetry: (key, _err, attempt, delayMs) => {
      const suppressed = logLimit.allow(`retry\0${key}`);
      if (suppressed !== undefined) log.debug({ key, attempt, delayMs, suppressed }, 'retry scheduled');
    },
    onDepth: (size) => metrics.queueDepth.set(size),
  });
  /** Enqueues every sealed resource; `now` also cuts short the backoff of failing ones (a new key may fix them). */
  function enqueueAll(now = false): void {
    if (!synced) return;
    for (const inf of sealedInformers) for (const obj of inf.list()) {
      if (now) queue.add(keyOf(obj));
      else queue.resync(keyOf(obj));
    }
  }

  function watch<T extends SealedSecretObject | V1Secret>(inf: KubeInformer<T>, kind: string): void {
    let delay = 500;
    inf.on('error', (err: unknown) => {
      if (stopped) return;
      log.warn({ kind, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'watch failed; restarting');
      setTimeout(() => {
        inf.start().then(() => { delay = 500; }, () => undefined);
      }, delay);
      delay = Math.min(delay * 2, 30_000);
    });
  }

  async function startLeading(): Promise<void> {
    metrics.leader.set(1);
    const maintain = async (): Promise<void> => {
      try {
        await keys.maintain();
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'key maintenance failed');
      }
    };
    await maintain();
    timers.push(setInterval(() => void maintain(), o.keyCheckIntervalMs));
    for (const ns of scopes) {
      const si = api.secretInformer(`${MANAGED_LABEL}=${MANAGED_VALUE}`, ns, summarizeSecret);
      const onSecret = (s: V1Secret): void => {
        const k = ownerKey(s);
        if (k !== undefined) queue.add(k);
      };
      si.on('update', onSecret);
      si.on('delete', onSecret);
      watch(si, 'secrets');
      secretInformers.push(si);
      const inf = api.sealedInformer(ns);
      inf.on('add', (obj) => queue.add(keyOf(obj)));
      inf.on('update', (obj) => queue.add(keyOf(obj)));
      inf.on('delete', (obj) => queue.forget(keyOf(obj)));
      watch(inf, 'sealedsecrets');
      sealedInformers.push(inf);
    }
    await Promise.all([...secretInformers, ...sealedInformers].map((i) => i.start()));
    synced = true;
    log.info({ namespaces: o.watchNamespaces.length === 0 ? 'all' : o.watchNamespaces }, 'informers synced; reconciling');
    enqueueAll(true);
    timers.push(setInterval(() => { enqueueAll(); }, o.resyncPeriodMs));
  }

  await keys.start();
  const server = await startServer({
    listen: o.listen, keys, metrics, log,
    extraUnwrappers: () => withKmsDeadline(extraUnwrappers, kmsBudget),
    ready: () => keys.keys.length > 0 && (!elector.isLeader || synced),
  });
  const elector = new LeaderElector({
    api, namespace: o.namespace, name: o.leaseName, identity, log,
    leaseDurationMs: o.leaseDurationMs, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs,
    onStartedLeading: () => {
      startLeading().catch((err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not start reconciling');
        o.onLostLeadership?.();
      });
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      queue.stop();
      o.onLostLeadership?.();
    },
  });
  if (o.leaderElect) elector.start();
  else void startLeading();

  return {
    log,
    server,
    async stop(): Promise<void> {
      stopped = true;
      queue.stop();
      for (const t of timers) clearInterval(t);
      await elector.stop();
      await Promise.all([...sealedInformers, ...secretInformers].map((i) => i.stop()));
      await keys.stop();
      await new Promise<void>((r) => {
        server.close(() => { r(); });
        server.closeAllConnections();
      });
    },
  };
}
