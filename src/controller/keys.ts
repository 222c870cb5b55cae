/**
 * Sealing-key manager: keeps the controller's RSA keys as labelled Secrets in
 * its namespace, generates the first one, adds one every rotation period or
 * on request, picks up keys added or removed by hand (watch), and publishes
 * the public certificates in a ConfigMap anyone may read.
 */
import { SealboxError } from '../errors.js';
import { SEALED_SECRETS_KEY_LABEL } from '../format/bitnami.js';
import { SEALED_KIND } from '../format/sealed.js';
import { MANAGED_LABEL, RESERVED_PREFIX } from '../format/template.js';
import type { CertIdentity, CertRecipient } from '../keys/cert.js';
import { CREATED_AT_ANNOTATION, FINGERPRINT_ANNOTATION, IMPORTED_ANNOTATION, SEAL_WITH_ANNOTATION, SEALING_KEY_LABEL, parseKeySecret } from '../keys/key-secret.js';
import { generateSealingKey } from '../keys/cert-gen.js';
import type { KubeApi } from '../kube/api.js';
import { CERTS_CONFIGMAP, ROTATE_ANNOTATION } from '../kube/names.js';
import type { V1ConfigMap, V1Secret } from '../kube/types.js';
import { Informers } from './informers.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

const ROTATED_ANNOTATION = 'sealbox.dev/rotated-for';

/** One loaded sealing key. */
export interface SealingKey {
  readonly name: string;
  readonly createdAt: Date;
  /**
   * Since when new seals use it: its creation, or for a key imported from
   * Sealed Secrets the time the import asked for it (`--seal-with`); never
   * (undefined) for other imported keys, which only unseal.
   */
  readonly sealingSince: Date | undefined;
  readonly fingerprint: string;
  readonly certificatePem: string;
  readonly identity: CertIdentity;
  readonly recipient: CertRecipient;
}

/** Options of KeyManager. */
export interface KeyManagerOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly rotationPeriodMs: number;
  readonly keyBits: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Called after the set of keys changed. */
  readonly onChange: () => void;
  /**
   * Whether this replica still leads key management, asked right before each
   * write (default: always): a replica whose Lease lapsed while it generated
   * a key must not write it (--shards).
   */
  readonly mayWrite?: () => boolean;
  /**
   * Label new keys `sealedsecrets.bitnami.com/sealed-secrets-key: active` as
   * well, as Sealed Secrets labels its own (`--sealed-secrets-compat`), so its
   * tools and backups (`kubectl get secret -l …`, `kubeseal
   * --recovery-unseal`) find them.
   */
  readonly compatLabels?: boolean;
}

/**
 * Refuses a key Secret that a sealed resource wrote: anyone who may create
 * sealed resources in the controller's namespace could otherwise supply a
 * sealing key of their own (docs/SECURITY.md, 1a.4d).
 */
function checkNotSealed(s: V1Secret, name: string): void {
  const owner = (s.metadata?.ownerReferences ?? []).find((r) => r.kind === SEALED_KIND || r.apiVersion.startsWith(`${RESERVED_PREFIX}/`));
  if (owner !== undefined) throw new SealboxError('INPUT', `key secret ${name} is owned by ${owner.kind} "${owner.name.slice(0, 253)}": a sealed resource cannot supply a sealing key`);
  if (s.metadata?.labels?.[MANAGED_LABEL] !== undefined) throw new SealboxError('INPUT', `key secret ${name} carries ${MANAGED_LABEL}: a Secret written for a sealed resource cannot be a sealing key`);
}

/**
 * When the key was made. A restored key (sealbox keys restore) keeps its
 * original creation time in an annotation, which can only be earlier than
 * the Secret's own creationTimestamp (set by the API server): a later one,
 * and so any in the future, is ignored, or a hand-made key could stay
 * "newest" for ever and hold back rotation.
 */
function keyCreatedAt(s: V1Secret, now: Date): Date {
  const created = s.metadata?.creationTimestamp === undefined ? undefined : new Date(s.metadata.creationTimestamp);
  const stated = Date.parse(s.metadata?.annotations?.[CREATED_AT_ANNOTATION] ?? '');
  const limit = created?.getTime() ?? now.getTime();
  if (!Number.isNaN(stated) && stated <= limit) return new Date(stated);
  return created ?? new Date(0);
}

/** When an imported key was chosen for sealing (no later than its Secret's creation), or undefined. */
function sealingSince(s: V1Secret, createdAt: Date): Date | undefined {
  const ann = s.metadata?.annotations ?? {};
  if (ann[IMPORTED_ANNOTATION] === undefined) return createdAt;
  const stated = Date.parse(ann[SEAL_WITH_ANNOTATION] ?? '');
  if (Number.isNaN(stated)) return undefined;
  const limit = s.metadata?.creationTimestamp === undefined ? stated : new Date(s.metadata.creationTimestamp).getTime();
  return new Date(Math.min(stated, limit));
}

function loadKeySecret(s: V1Secret, now: Date): SealingKey {
  const name = s.metadata?.name ?? '';
  checkNotSealed(s, name);
  const createdAt = keyCreatedAt(s, now);
  return { name, createdAt, sealingSince: sealingSince(s, createdAt), ...parseKeySecret({ name, data: s.data ?? {} }) };
}

/** Keys that seal first, newest first; then keys that only unseal, newest first. */
function byUse(a: SealingKey, b: SealingKey): number {
  const rank = (k: SealingKey): number => k.sealingSince?.getTime() ?? -Infinity;
  return rank(b) - rank(a) || b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name);
}

/** Loads, generates, rotates and publishes the sealing keys. */
export class KeyManager {
  readonly #o: KeyManagerOptions;
  #keys: SealingKey[] = [];
  readonly #informers: Informers<V1Secret>;
  #rsaOpsSeen = 0;
  #maintaining: Promise<void> | undefined;

  constructor(opts: KeyManagerOptions) {
    this.#o = opts;
    const reload = (): void => { this.#reloadCached(); };
    this.#informers = new Informers({
      kind: 'key secrets',
      scopes: [opts.namespace],
      open: (ns) => opts.api.secretInformer(`${SEALING_KEY_LABEL}=true`, ns),
      log: opts.log,
      onAdd: reload,
      onUpdate: reload,
      onDelete: reload,
    });
  }

  /** Keys, the one new seals use first (then by sealingSince, then the imported ones that only unseal). */
  get keys(): readonly SealingKey[] {
    return this.#keys;
  }

  /** The key new seals should use, or undefined before the first key exists. */
  get newest(): SealingKey | undefined {
    const first = this.#keys[0];
    return first?.sealingSince === undefined ? undefined : first;
  }

  /** Starts watching the key Secrets; resolves after the first list. */
  async start(): Promise<void> {
    await this.#informers.start();
    this.#reloadCached();
  }

  async stop(): Promise<void> {
    await this.#informers.stop();
  }

  #reloadCached(): void {
    this.#reload(this.#informers.list());
  }

  #reload(secrets: readonly V1Secret[]): void {
    const keys: SealingKey[] = [];
    for (const s of secrets) {
      try {
        keys.push(loadKeySecret(s, new Date()));
      } catch (err) {
        this.#o.log.warn({ secret: s.metadata?.name, err: err instanceof Error ? err.message : String(err) }, 'ignoring unusable key secret');
      }
    }
    keys.sort(byUse);
    const before = this.#keys.map((k) => k.fingerprint).join();
    // Keep already-imported identities so their counters and imported CryptoKeys survive.
    const old = new Map(this.#keys.map((k) => [k.fingerprint, k]));
    this.#keys = keys.map((k) => old.get(k.fingerprint) ?? k);
    this.#o.metrics.keys.set(keys.length);
    if (before !== this.#keys.map((k) => k.fingerprint).join()) {
      this.#o.log.info({ keys: this.#keys.map((k) => k.fingerprint.slice(0, 12)) }, 'sealing keys loaded');
      this.#o.onChange();
    }
  }

  /** Adds RSA operations done since the last call to the metric. */
  countRsaOps(): void {
    const total = this.#keys.reduce((n, k) => n + k.identity.privateOps, 0);
    if (total > this.#rsaOpsSeen) this.#o.metrics.rsaOps.inc(total - this.#rsaOpsSeen);
    this.#rsaOpsSeen = total;
  }

  /**
   * Leader's periodic duty: create the first key, add one when the newest is
   * older than the rotation period or a rotation was requested, and publish
   * the certificates. A call made while a run is in progress joins that run.
   * Throws SealboxError('KUBE') on API failure.
   */
  maintain(now = new Date()): Promise<void> {
    // One run at a time: a run still generating a key when the next timer
    // fires would let that one see the same rotation request, not yet marked
    // handled in the ConfigMap, and add a second key.
    this.#maintaining ??= this.#maintainOnce(now).finally(() => {
      this.#maintaining = undefined;
    });
    return this.#maintaining;
  }

  async #maintainOnce(now: Date): Promise<void> {
    const cm = await this.#o.api.getConfigMap(this.#o.namespace, CERTS_CONFIGMAP);
    const requested = cm?.metadata?.annotations?.[ROTATE_ANNOTATION];
    const handled = cm?.metadata?.annotations?.[ROTATED_ANNOTATION];
    const newest = this.newest;
    const due = newest?.sealingSince === undefined || now.getTime() - newest.sealingSince.getTime() >= this.#o.rotationPeriodMs;
    const onRequest = requested !== undefined && requested !== handled;
    let generated = false;
    if (due || onRequest) {
      await this.#generate(newest === undefined ? 'first start' : onRequest ? 'requested' : 'rotation period');
      generated = true;
    }
    if (newest !== undefined) this.#o.metrics.keyAge.set((now.getTime() - newest.createdAt.getTime()) / 1000);
    await this.#publish(cm, generated && onRequest ? requested : handled);
  }

  async #generate(why: string): Promise<void> {
    const key = await generateSealingKey({ bits: this.#o.keyBits, commonName: 'sealbox-controller' });
    const secret: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { generateName: 'sealbox-key-', namespace: this.#o.namespace, labels: { [SEALING_KEY_LABEL]: 'true', ...(this.#o.compatLabels === true ? { [SEALED_SECRETS_KEY_LABEL]: 'active' } : {}) }, annotations: { [FINGERPRINT_ANNOTATION]: key.fingerprint } },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from(key.certificatePem).toString('base64'), 'tls.key': Buffer.from(key.privateKeyPem).toString('base64') },
    };
    if (this.#o.mayWrite?.() === false) {
      this.#o.log.info({ why }, 'no longer leads key management: not writing the key just generated');
      return;
    }
    const created = await this.#o.api.createSecret(secret);
    this.#o.log.info({ secret: created.metadata?.name, fingerprint: key.fingerprint.slice(0, 12), why }, 'generated a new sealing key');
    this.#reload([...(this.#informers.list()).filter((s) => s.metadata?.uid !== created.metadata?.uid), created]);
  }

  async #publish(cm: V1ConfigMap | undefined, rotatedFor: string | undefined): Promise<void> {
    if (this.#keys.length === 0 || this.#o.mayWrite?.() === false) return;
    const data = {
      'cert.pem': this.#keys[0]?.certificatePem ?? '',
      'certs.pem': this.#keys.map((k) => k.certificatePem).join(''),
      'fingerprints': this.#keys.map((k) => k.fingerprint).join('\n') + '\n',
    };
    const annotations = { ...(cm?.metadata?.annotations ?? {}), ...(rotatedFor === undefined ? {} : { [ROTATED_ANNOTATION]: rotatedFor }) };
    if (cm === undefined) {
      await this.#o.api.createConfigMap({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CERTS_CONFIGMAP, namespace: this.#o.namespace, annotations }, data });
      return;
    }
    const same = Object.entries(data).every(([k, v]) => cm.data?.[k] === v) && annotations[ROTATED_ANNOTATION] === cm.metadata?.annotations?.[ROTATED_ANNOTATION];
    if (!same) await this.#o.api.replaceConfigMap({ ...cm, metadata: { ...cm.metadata, annotations }, data });
  }
}
