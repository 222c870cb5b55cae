import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The controller's Prometheus metrics, on their own registry. Labels never carry values or keys. */
export class Metrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: 'sealbox_reconciles_total', help: 'Reconciliations by result (unchanged, created, updated, recreated, failed)', labelNames: ['result'] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: 'sealbox_reconcile_errors_total', help: 'Failed reconciliations by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly unsealSeconds = new Histogram({ name: 'sealbox_unseal_duration_seconds', help: 'Time to unseal one sealed resource', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly relists = new Counter({ name: 'sealbox_watch_relists_total', help: 'Lists started again because a resourceVersion or continue token expired (HTTP 410), by resource', labelNames: ['resource'] as const, registers: [this.registry] });
  readonly apiRequests = new Counter({ name: 'sealbox_api_requests_total', help: 'Kubernetes API requests sent, by verb and resource', labelNames: ['verb', 'resource'] as const, registers: [this.registry] });
  readonly rsaOps = new Counter({ name: 'sealbox_rsa_private_operations_total', help: 'RSA private-key operations (unwraps with cluster keys)', registers: [this.registry] });
  readonly dataKeyCache = new Counter({ name: 'sealbox_data_key_cache_total', help: 'Data-key cache lookups by result (hit, miss)', labelNames: ['result'] as const, registers: [this.registry] });
  readonly kmsCalls = new Counter({ name: 'sealbox_kms_calls_total', help: 'Calls to cloud key services by provider and result', labelNames: ['provider', 'result'] as const, registers: [this.registry] });
  readonly keyAge = new Gauge({ name: 'sealbox_sealing_key_age_seconds', help: 'Age of the newest sealing key', registers: [this.registry] });
  readonly keys = new Gauge({ name: 'sealbox_sealing_keys', help: 'Sealing keys loaded', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'sealbox_leader', help: '1 while this replica is the leader (with --shards: holds shard 0 and leads key management)', registers: [this.registry] });
  readonly shards = new Gauge({ name: 'sealbox_shards', help: 'Shards the sealed resources are spread over (--shards)', registers: [this.registry] });
  readonly shardHeld = new Gauge({ name: 'sealbox_shard_held', help: '1 while this replica holds the shard (and reconciles its namespaces), with --shards above 1', labelNames: ['shard'] as const, registers: [this.registry] });
  readonly syncRecords = new Gauge({ name: 'sealbox_sync_records', help: 'Sealed resources the reconciler keeps a sync record of (about 90 bytes each)', registers: [this.registry] });
  readonly eventDedupeBytes = new Gauge({ name: 'sealbox_event_dedupe_bytes', help: 'Memory the event de-duplication uses (bounded)', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'sealbox_workqueue_depth', help: 'Keys queued, running or waiting to retry', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'sealbox_' });
  }
}
