/**
 * The pure middle of the compatibility mode: the Secret a Sealed Secrets
 * SealedSecret unseals to, and the write that brings the existing Secret in
 * line, decided as Sealed Secrets' controller decides (`unseal` in
 * pkg/controller/controller.go): create when missing; refuse a Secret it does
 * not control unless annotated managed or patch; with patch, merge data,
 * labels and annotations (and take the owner reference when also managed);
 * else replace data, labels, annotations and owner references; always set
 * the type; write only when something differs; never try to change the
 * data of an immutable Secret. No I/O here.
 */
import type { BitnamiSecret } from '../../format/bitnami.js';
import { BITNAMI_MANAGED, BITNAMI_PATCH, BITNAMI_SKIP_OWNER, SEALED_SECRETS_KEY_LABEL } from '../../format/bitnami.js';
import { checkTemplate } from '../../format/template.js';
import { SealboxError } from '../../errors.js';
import type { V1OwnerReference, V1Secret } from '../../kube/types.js';

/** The SealedSecret a Secret is written for. */
export interface BitnamiOwner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** What to write. */
export type CompatPlan =
  | { readonly action: 'none' }
  | { readonly action: 'create' | 'update'; readonly secret: V1Secret }
  | { readonly action: 'refuse'; readonly message: string }
  /** The Secret is immutable and its data would change: the API server refuses it, so it is not tried again. */
  | { readonly action: 'immutable'; readonly message: string };

/**
 * The Secret Sealed Secrets would create: name and namespace forced to the
 * owner's. Unlike Sealed Secrets, and as for sealbox's own resources, a
 * template of a service-account-token type or with a `sealbox.dev/` label or
 * annotation (a sealing key, with skip-set-owner-references no owner
 * reference marks it), or labelled as a Sealed Secrets key, is refused: SealboxError('INPUT') (docs/SECURITY.md
 * 1a.4c, 1a.4d, 1a.8).
 */
export function desiredSecret(owner: BitnamiOwner, s: BitnamiSecret): V1Secret {
  const what = `sealedsecret "${owner.namespace}/${owner.name}"`;
  checkTemplate({ type: s.type ?? 'Opaque', labels: s.labels ?? {}, annotations: s.annotations ?? {} }, what, 'spec.template');
  if (s.labels?.[SEALED_SECRETS_KEY_LABEL] !== undefined) {
    throw new SealboxError('INPUT', `${what}: spec.template.metadata.labels "${SEALED_SECRETS_KEY_LABEL}" is refused: it marks Sealed Secrets' own keys, which sealbox keys import would read`);
  }
  const skipOwner = s.annotations?.[BITNAMI_SKIP_OWNER] === 'true';
  const ownerReferences: V1OwnerReference[] = [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: owner.name,
      namespace: owner.namespace,
      ...(s.labels === undefined ? {} : { labels: { ...s.labels } }),
      ...(s.annotations === undefined ? {} : { annotations: { ...s.annotations } }),
      ...(skipOwner ? {} : { ownerReferences }),
    },
    ...(s.type === undefined || s.type === '' ? {} : { type: s.type }),
    ...(s.immutable === undefined ? {} : { immutable: s.immutable }),
    data: { ...s.data },
  };
}

/** metav1.IsControlledBy: the Secret's controller reference names the owner's uid. */
export function isControlledBy(secret: V1Secret, owner: BitnamiOwner): boolean {
  const ref = (secret.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  return ref !== undefined && ref.uid === owner.uid;
}

/** Kubernetes' semantic equality: a nil map or list equals an empty one. */
function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): string => JSON.stringify(v ?? null, (_k, x: unknown) => {
    if (Array.isArray(x)) return x.length === 0 ? null : x;
    if (x !== null && typeof x === 'object') {
      const entries = Object.entries(x).sort(([p], [q]) => p.localeCompare(q));
      return entries.length === 0 ? null : Object.fromEntries(entries);
    }
    return x;
  });
  return norm(a) === norm(b);
}

function merged(existing: V1Secret, want: V1Secret): V1Secret {
  const meta = existing.metadata ?? {};
  const managed = meta.annotations?.[BITNAMI_MANAGED] === 'true';
  return {
    ...existing,
    metadata: {
      ...meta,
      labels: { ...meta.labels, ...want.metadata?.labels },
      annotations: { ...meta.annotations, ...want.metadata?.annotations },
      ...(managed ? { ownerReferences: want.metadata?.ownerReferences } : {}),
    },
    data: { ...existing.data, ...want.data },
  };
}

function replaced(existing: V1Secret, want: V1Secret): V1Secret {
  const { labels: _l, annotations: _a, ownerReferences: _o, ...meta } = existing.metadata ?? {};
  const w = want.metadata ?? {};
  return {
    ...existing,
    metadata: { ...meta, ...(w.labels === undefined ? {} : { labels: w.labels }), ...(w.annotations === undefined ? {} : { annotations: w.annotations }), ...(w.ownerReferences === undefined ? {} : { ownerReferences: w.ownerReferences }) },
    data: want.data ?? {},
  };
}

/**
 * Sealed Secrets' event for an immutable target (formatImmutableError),
 * whose words "the target Secret is immutable" its suite looks for.
 */
function immutableMessage(owner: BitnamiOwner): string {
  return `error updating secret "${owner.namespace}/${owner.name}": the target Secret is immutable, so its data cannot change; delete the Secret and the controller creates it again with the new values`;
}

/** Decides the write; `existing` is the Secret as it is now (values included). */
export function planCompat(owner: BitnamiOwner, existing: V1Secret | undefined, want: V1Secret): CompatPlan {
  if (existing === undefined) return { action: 'create', secret: want };
  const ann = existing.metadata?.annotations ?? {};
  const patch = ann[BITNAMI_PATCH] === 'true';
  if (!isControlledBy(existing, owner) && ann[BITNAMI_MANAGED] !== 'true' && !patch) {
    return { action: 'refuse', message: `Resource "${owner.name}" already exists and is not managed by SealedSecret` };
  }
  const next = patch ? merged(existing, want) : replaced(existing, want);
  const typed: V1Secret = { ...next, type: want.type ?? 'Opaque' };
  const keys = ['data', 'type'] as const;
  const metaKeys = ['labels', 'annotations', 'ownerReferences'] as const;
  const unchanged = keys.every((k) => same(existing[k], typed[k])) && metaKeys.every((k) => same(existing.metadata?.[k], typed.metadata?.[k]));
  if (unchanged) return { action: 'none' };
  // Like Sealed Secrets, the update never clears `immutable`; the API
  // server refuses any change to the data of an immutable Secret.
  if (existing.immutable === true && !same(existing.data, typed.data)) return { action: 'immutable', message: immutableMessage(owner) };
  return { action: 'update', secret: typed };
}
