/**
 * What `sealbox rotate` rotates each file to: the recipients of the flags, or
 * else of the file's `.sealbox.yaml` rule, resolved once (alias → key ARN,
 * Key Vault key → newest version); the recipients to remove; the unwrappers.
 */
import { existsSync } from 'node:fs';
import type { KeyUnwrapper, KeyWrapper, RecipientRef } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import type { GroupRotation, RotateOptions, RotationTarget } from '../src/format/rotate.js';
import type { RewriteResult } from '../src/format/rewrite.js';
import type { KmsStanzaUnwrapper } from '../src/keys/kms-unwrapper.js';
import { ruleNotice } from './config.js';
import { hasKmsStanza, isKmsSpec, kmsStanzaUnwrapper, kmsWrappers } from './kms.js';
import { RecipientResolver } from './recipient-resolver.js';
import { loadCertificate } from './recipients.js';
import type { FileReport } from './rotate-report.js';

type RotationModule = typeof import('../src/keys/rotation.js');

/** Inputs of a rotation run. */
export interface PlannerInput {
  readonly toKms: readonly string[];
  readonly toCert: readonly string[];
  readonly remove: readonly string[];
  readonly newDataKey: boolean;
  /** Private keys given with --key. */
  readonly unwrappers: readonly KeyUnwrapper[];
  /** --insecure-http: a config rule may fetch a certificate over plain http. */
  readonly insecureHttp?: boolean;
}

/** Decides, per file, what to rotate to, and rewrites files. */
export class RotationPlanner {
  readonly #remove: ((r: RecipientRef) => boolean) | undefined;
  readonly #newDataKey: boolean;
  readonly #unwrappers: readonly KeyUnwrapper[];
  readonly #kms: KmsStanzaUnwrapper;
  readonly #rotation: RotationModule;
  readonly #targets: RecipientResolver<RotationTarget[] | undefined>;

  private constructor(o: { remove: ((r: RecipientRef) => boolean) | undefined; newDataKey: boolean; unwrappers: readonly KeyUnwrapper[]; kms: KmsStanzaUnwrapper; rotation: RotationModule; targets: RecipientResolver<RotationTarget[] | undefined> }) {
    this.#remove = o.remove;
    this.#newDataKey = o.newDataKey;
    this.#kms = o.kms;
    this.#unwrappers = [...o.unwrappers, o.kms];
    this.#rotation = o.rotation;
    this.#targets = o.targets;
  }

  /**
   * Resolves the flags' targets and removals. Throws SealboxError('INPUT')
   * for a malformed spec or a recipient both added and removed, ('PROVIDER')
   * when resolving a key fails.
   */
  static async create(i: PlannerInput): Promise<RotationPlanner> {
    const rotation = await import('../src/keys/rotation.js');
    const targets = rotationTargets(i, rotation);
    const flagTargets = targets.hasFlags ? await targets.flags() : undefined;
    const remove = i.remove.length === 0 ? undefined : rotation.recipientMatcher(await Promise.all(i.remove.map(normalizeRemoval)));
    for (const t of flagTargets ?? []) {
      if (remove?.(t.ref) === true) throw new SealboxError('INPUT', `${t.ref.type} ${t.ref.id} is both a --to-* target and a --remove-recipient; drop one`);
    }
    return new RotationPlanner({ remove, newDataKey: i.newDataKey, unwrappers: i.unwrappers, kms: await kmsStanzaUnwrapper(), rotation, targets });
  }

  /**
   * The rotation options of one file: the flags' targets, else its config
   * rule's. Returns undefined when there is nothing to do for it (no targets,
   * removals or new data key). Throws what resolving a rule's keys throws.
   */
  async optionsFor(file: string): Promise<RotateOptions | undefined> {
    const targets = await this.#targets.resolve(file);
    if (targets === undefined && this.#remove === undefined && !this.#newDataKey) return undefined;
    const all = targets ?? [];
    return {
      targets: all,
      ...(this.#remove === undefined ? {} : { remove: this.#remove }),
      newDataKey: this.#newDataKey,
      // ReEncrypt only from keys the user named (targets) or is removing, never from any stanza a Git writer added.
      rewrap: this.#rotation.reEncryptVia(this.#kms, (r) => all.some((t) => t.ref.type === r.type && t.ref.id === r.id) || (this.#remove?.(r) ?? false)),
      wrapperOf: (r) => this.#wrapperOf(r, all),
    };
  }

  /**
   * Rotates (or, without `write`, plans) every sealed resource of a file and
   * records what changes in `report`. Returns the new text.
   */
  async rewrite(text: string, file: string, opts: RotateOptions, write: boolean, report: FileReport): Promise<RewriteResult> {
    const { rewriteSealedText } = await import('../src/format/rewrite.js');
    const { planRotation, rotateSealed } = await import('../src/format/rotate.js');
    return rewriteSealedText(text, file, async (sealed, what) => {
      const entry = { name: sealed.name, namespace: sealed.namespace, groups: [] as GroupRotation[], newDataKey: undefined as undefined | { group: string; replaced: readonly string[] } };
      report.resources.push(entry);
      if (!write) {
        entry.groups = opts.newDataKey === true && sealed.encryptedData.size > 0
          ? [{ group: '(new)', added: [], removed: sealed.dataKeys.map((g) => g.id) }]
          : planRotation(sealed, opts, what);
        return sealed;
      }
      // The KMS unwrapper only for KMS stanzas: it would be named in a "none of your keys" message otherwise.
      const unwrappers = hasKmsStanza(sealed) ? this.#unwrappers : this.#unwrappers.filter((u) => u !== this.#kms);
      const result = await rotateSealed(sealed, unwrappers, opts, what);
      entry.groups = [...result.groups];
      entry.newDataKey = result.newDataKey;
      return result.groups.length === 0 ? sealed : result.sealed;
    });
  }

  /** The wrapper of a recipient kept under a new data key: a target's, or a KMS key built from the stanza. */
  async #wrapperOf(r: RecipientRef, targets: readonly RotationTarget[]): Promise<KeyWrapper | undefined> {
    const t = targets.find((x) => x.ref.type === r.type && x.ref.id === r.id);
    if (t !== undefined) return t.wrapper;
    if (r.type === 'cert') return undefined;
    return this.#kms.keyFor({ ...r, wrapped: new Uint8Array() });
  }
}

/**
 * The targets of each file: the flags' keys, else its `.sealbox.yaml` rule's,
 * each key resolved (alias to key ARN, Key Vault key to its newest version);
 * undefined when no rule matches.
 */
function rotationTargets(i: PlannerInput, rotation: RotationModule): RecipientResolver<RotationTarget[] | undefined> {
  const resolveAll = (wrappers: readonly KeyWrapper[]): Promise<RotationTarget[]> => Promise.all(wrappers.map((w) => rotation.resolveTarget(w)));
  return new RecipientResolver<RotationTarget[] | undefined>({
    certs: i.toCert,
    kms: i.toKms,
    insecureHttp: i.insecureHttp === true,
    fromFlags: resolveAll,
    fromRule: async (wrappers, config, rule) => {
      const resolved = await resolveAll(wrappers);
      process.stderr.write(ruleNotice(config, rule, resolved.map((t) => t.ref)));
      return resolved;
    },
    noRule: () => undefined,
  });
}

/** `--remove-recipient` values as recipientMatcher takes them: a certificate file becomes its fingerprint, an AWS alias its key ARN. */
async function normalizeRemoval(v: string): Promise<string> {
  if (!isKmsSpec(v) && !/^(cert:)?[0-9a-f]{12,64}$/i.test(v) && !v.startsWith('https://') && !v.startsWith('arn:') && existsSync(v)) {
    return (await loadCertificate(v)).recipient.id;
  }
  if (v.startsWith('aws:') && !v.startsWith('aws:arn:')) {
    const [key] = await kmsWrappers([v]);
    const { AwsKmsKey } = await import('../src/keys/aws-kms.js');
    if (key instanceof AwsKmsKey) return `aws:${await key.resolve()}`;
  }
  return v;
}
