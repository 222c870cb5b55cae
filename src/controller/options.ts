/**
 * What `sealbox controller` can be told (ControllerOptions), what a running
 * controller offers (RunningController), and the KMS unwrapper those options
 * ask for.
 */
import type { Server } from 'node:http';
import type { KeyUnwrapper } from '../crypto/types.js';
import type { KmsProvider } from '../keys/kms-unwrapper.js';
import { KmsStanzaUnwrapper } from '../keys/kms-unwrapper.js';
import type { KmsAllowlist } from '../keys/kms-allow.js';
import { parseKmsAllow } from '../keys/kms-allow.js';
import type { KmsSpecOptions } from '../keys/kms-spec.js';
import { kmsOptionsFromEnv } from '../keys/kms-spec.js';
import type { EventTypes } from './events.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { SealboxError } from '../errors.js';
import { MAX_SHARDS } from './shards.js';

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
  /** Shard 0's Lease (the leader Lease); shard s > 0 uses `<leaseName>-shard-<s>`. */
  readonly leaseName: string;
  /**
   * Shards the sealed resources are spread over, by namespace (default 1: one
   * leader reconciles everything); more than 1 needs leader election.
   */
  readonly shards?: number;
  /** The shard this replica prefers (`--shard`); default: its pod name's ordinal suffix (docs/DEPLOY.md "Sharding"). */
  readonly shard?: number;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logLevel: string;
  /** Which Events to record: 'all' (default) or 'warnings' (no Normal Events). */
  readonly events?: EventTypes;
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
  /**
   * Compatibility with Sealed Secrets (`--sealed-secrets-compat`,
   * docs/MIGRATION.md): bitnami.com/v1alpha1 SealedSecrets are reconciled
   * (src/controller/compat/), kubeseal's `/v1/verify` and `/v1/rotate` are
   * served, and new keys carry Sealed Secrets' key label too.
   */
  readonly sealedSecretsCompat?: boolean;
  /**
   * RSA private operations the compatibility mode may spend a minute on one
   * namespace's SealedSecrets (`--compat-rsa-per-namespace-per-minute`,
   * default 6,000; 0: no limit); beyond it their reconciles are deferred
   * (src/controller/compat/budget.ts).
   */
  readonly compatRsaPerNamespacePerMinute?: number;
  /**
   * Session keys the compatibility mode keeps unwrapped
   * (`--compat-data-key-cache-size`, default COMPAT_DATA_KEY_CACHE_SIZE).
   * Apart from `dataKeyCacheSize`: that mode has no sync records, so every
   * resync unseals every value again, and costs no RSA operation only while
   * its key is still cached (found by attack25).
   */
  readonly compatDataKeyCacheSize?: number;
  /**
   * Called when the controller cannot go on: leadership lost, or reconciling
   * could not start (in both modes); the CLI exits so the pod restarts cleanly.
   */
  readonly onFatal?: () => void;
}

/** A running controller. */
export interface RunningController {
  readonly log: Logger;
  readonly server: Server;
  stop(): Promise<void>;
}

/**
 * The unwrapper of the enabled KMS providers (none when none is enabled),
 * counting its calls, calling only allowed keys, with errors of a fixed form.
 */
export function kmsUnwrappers(o: ControllerOptions, metrics: Metrics, log: Logger): KeyUnwrapper[] {
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


/**
 * The shard count; throws SealboxError('INPUT') when it or the preferred
 * shard is out of range, or shards are asked for without leader election.
 */
export function checkShards(o: ControllerOptions): number {
  const shards = o.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new SealboxError('INPUT', `--shards ${String(shards)} is out of range; use a whole number from 1 to ${String(MAX_SHARDS)}`);
  if (shards > 1 && !o.leaderElect) throw new SealboxError('INPUT', `--shards ${String(shards)} needs leader election (each shard has its own lease); drop --no-leader-elect or use --shards 1`);
  if (shards > 1 && o.sealedSecretsCompat === true) throw new SealboxError('INPUT', `--sealed-secrets-compat does not work with --shards ${String(shards)} yet; use --shards 1`);
  if (o.shard !== undefined && (!Number.isInteger(o.shard) || o.shard < 0 || o.shard >= shards)) throw new SealboxError('INPUT', `--shard ${String(o.shard)} is not a shard of --shards ${String(shards)}; use a number from 0 to ${String(shards - 1)}`);
  return shards;
}
