/**
 * A time budget for the KMS calls of one piece of work (one reconcile, one
 * re-wrap request). Each group may try up to 100 distinct stanzas, each up to
 * `--kms-timeout`; without a budget a resource full of stanzas naming a host
 * that never answers held a worker or a re-wrap slot for minutes. Past the
 * budget every KMS stanza fails at once as PROVIDER with a fixed message, and
 * a call in flight is abandoned (it ends by its own timeout). Cluster-key
 * stanzas cost nothing remote and are not limited here.
 */
import type { KeyUnwrapper } from '../crypto/types.js';
import { SealboxError } from '../errors.js';

/** Message of a KMS stanza tried after the budget; fixed, so it says nothing about the host. */
export const KMS_BUDGET_MESSAGE = 'the key services did not answer within this work\'s time budget (twice --kms-timeout), so the controller stopped calling them; it retries later';

const overBudget = (): SealboxError => new SealboxError('PROVIDER', KMS_BUDGET_MESSAGE);

/**
 * Returns `unwrappers` sharing one deadline, `budgetMs` from now, for every
 * stanza that is not a cluster certificate's.
 */
export function withKmsDeadline(unwrappers: readonly KeyUnwrapper[], budgetMs: number): KeyUnwrapper[] {
  const deadline = Date.now() + budgetMs;
  return unwrappers.map((u) => ({
    description: u.description,
    unwrap: async (stanza, binding) => {
      if (stanza.type === 'cert') return u.unwrap(stanza, binding);
      const left = deadline - Date.now();
      if (left <= 0) throw overBudget();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => { reject(overBudget()); }, left);
      });
      try {
        return await Promise.race([u.unwrap(stanza, binding), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
  }));
}
