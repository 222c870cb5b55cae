// What docs/DEPLOY.md says the controller's service account may do, read from
// its two RBAC tables, and what the API server says an account may do
// (SelfSubjectRulesReview), both as sets of "group resource name verb" tuples.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as k8s from '@kubernetes/client-node';
import { rawRequest } from '../controller/manifests.js';

/** One permission: `<apiGroup> <resource> <resourceName or *> <verb>` (core group written ""). */
export type Grant = string;

const grant = (group: string, resource: string, name: string, verb: string): Grant => `${group === '' ? '""' : group} ${resource} ${name} ${verb}`;

function cells(row: string): string[] {
  return row.split('|').slice(1, -1).map((c) => c.trim().replace(/`/g, ''));
}

/** The rows of the first Markdown table after `start` in `text`, header and rule excluded. */
function tableAfter(text: string, start: number): { rows: string[][]; end: number } {
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  let i = first + 2; // header, then the |---| rule
  for (; i < lines.length && (lines[i] ?? '').startsWith('|'); i++) rows.push(cells(lines[i] ?? ''));
  return { rows, end: start + lines.slice(0, i).join('\n').length };
}

/**
 * The controller's rights as docs/DEPLOY.md ("### The controller") documents
 * them: `cluster` from the ClusterRole table (granted in every namespace),
 * `own` from the Role table (its own namespace only).
 * @throws {Error} when the section or a table is missing
 */
export function documentedControllerRights(): { cluster: Set<Grant>; own: Set<Grant> } {
  const text = readFileSync(fileURLToPath(new URL('../../docs/DEPLOY.md', import.meta.url)), 'utf8');
  const section = text.indexOf('### The controller');
  if (section < 0) throw new Error('docs/DEPLOY.md has no "### The controller" section');
  const clusterTable = tableAfter(text, section);
  const roleTable = tableAfter(text, clusterTable.end);
  const cluster = new Set<Grant>();
  for (const [group = '', resource = '', verbs = ''] of clusterTable.rows) {
    for (const verb of verbs.split(',').map((v) => v.trim())) cluster.add(grant(group === '""' ? '' : group, resource, '*', verb));
  }
  const own = new Set<Grant>();
  for (const [group = '', resource = '', names = '', verbs = ''] of roleTable.rows) {
    for (const name of names.split(',').map((n) => n.trim())) {
      for (const verb of verbs.split(',').map((v) => v.trim())) own.add(grant(group === '""' ? '' : group, resource, name === 'any' ? '*' : name, verb));
    }
  }
  if (cluster.size === 0 || own.size === 0) throw new Error('docs/DEPLOY.md: a controller RBAC table is empty');
  return { cluster, own };
}

interface ResourceRule { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }

/**
 * Everything `kc`'s user may do in `namespace` by SelfSubjectRulesReview,
 * resource rules only, expanded into single grants.
 * @throws {Error} when the review fails or is incomplete
 */
export async function rulesReview(kc: k8s.KubeConfig, namespace: string): Promise<Set<Grant>> {
  const res = await rawRequest(kc, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace },
  }));
  if (res.status !== 201) throw new Error(`SelfSubjectRulesReview in ${namespace}: HTTP ${res.status}`);
  const status = (res.body as { status: { resourceRules?: ResourceRule[]; incomplete?: boolean; evaluationError?: string } }).status;
  if (status.incomplete === true) throw new Error(`SelfSubjectRulesReview in ${namespace} is incomplete: ${status.evaluationError ?? ''}`);
  const out = new Set<Grant>();
  for (const r of status.resourceRules ?? []) {
    for (const group of r.apiGroups ?? ['']) {
      for (const resource of r.resources ?? []) {
        for (const name of r.resourceNames ?? ['*']) for (const verb of r.verbs) out.add(grant(group, resource, name, verb));
      }
    }
  }
  return out;
}

/**
 * One SelfSubjectAccessReview: may `kc`'s user do `verb` on `resource` (in
 * `namespace`, '' for all namespaces or cluster-scoped)?
 */
export async function canI(kc: k8s.KubeConfig, attrs: { verb: string; group?: string; resource: string; subresource?: string; namespace?: string; name?: string }): Promise<boolean> {
  const res = await rawRequest(kc, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb: attrs.verb, group: attrs.group ?? '', resource: attrs.resource, subresource: attrs.subresource ?? '', namespace: attrs.namespace ?? '', name: attrs.name ?? '' } },
  }));
  if (res.status !== 201) throw new Error(`SelfSubjectAccessReview: HTTP ${res.status}`);
  return (res.body as { status: { allowed: boolean } }).status.allowed;
}

/** Elements of `a` that are not in `b`, sorted. */
export function minus(a: ReadonlySet<Grant>, b: ReadonlySet<Grant>): Grant[] {
  return [...a].filter((x) => !b.has(x)).sort();
}
