// What the controller made of a whole set of sealed resources, read back
// from the API server in pages: every sealed resource Ready for its
// generation, and for each exactly one Secret, owned (as controller) by it,
// holding exactly the values it was sealed with.
import { Buffer } from 'node:buffer';
import type { SealedObject } from '../controller/sealed.js';
import { SEALED } from '../controller/sealed.js';
import type { BulkApi } from './bulk.js';
import { SET_LABEL, expectedData } from './bulk.js';

interface ListedSecret {
  metadata: { name: string; namespace: string; uid: string; ownerReferences?: { uid: string; controller?: boolean }[] };
  data?: Record<string, string>;
}

/** Counts of one audit, and the first problems found. */
export interface ScaleAudit {
  readonly sealed: number;
  readonly ready: number;
  readonly secrets: number;
  /** Secrets owned by their own sealed resource (and no other controller) */
  readonly owned: number;
  /** Secrets holding exactly the values sealed for their resource */
  readonly rightValues: number;
  /** at most 10, for the failure message */
  readonly problems: readonly string[];
}

const decode = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

const sameData = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
};

/** Reads every sealed resource and Secret of the set (cluster-wide, paged) and checks them against `seed`. */
export async function auditSet(api: BulkApi, seed: string): Promise<ScaleAudit> {
  const selector = `labelSelector=${encodeURIComponent(`${SET_LABEL}=scale`)}`;
  const problems: string[] = [];
  const problem = (p: string): void => { if (problems.length < 10) problems.push(p); };
  const uids = new Map<string, string>();
  let ready = 0;
  await api.forEachListed(`/apis/${SEALED.group}/${SEALED.version}/${SEALED.plural}?${selector}`, (item) => {
    const s = item as SealedObject;
    const key = `${s.metadata.namespace ?? ''}/${s.metadata.name}`;
    uids.set(key, s.metadata.uid ?? '');
    const cond = s.status?.conditions?.find((c) => c.type === 'Ready');
    if (cond?.status === 'True' && s.status?.observedGeneration === s.metadata.generation) ready++;
    else problem(`${key}: not Ready (${cond?.reason ?? 'no condition'}, observed ${String(s.status?.observedGeneration)} of ${String(s.metadata.generation)})`);
  });
  let secrets = 0;
  let owned = 0;
  let rightValues = 0;
  await api.forEachListed(`/api/v1/secrets?${selector}`, (item) => {
    const s = item as ListedSecret;
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    secrets++;
    const owners = (s.metadata.ownerReferences ?? []).filter((r) => r.controller === true);
    if (owners.length === 1 && uids.has(key) && owners[0]?.uid === uids.get(key)) owned++;
    else problem(`${key}: owners ${JSON.stringify(owners.map((o) => o.uid))}, sealed uid ${uids.get(key) ?? 'none'}`);
    if (sameData(decode(s.data), expectedData(seed, s.metadata.namespace, s.metadata.name))) rightValues++;
    else problem(`${key}: values differ from what was sealed`);
  });
  if (secrets < uids.size) problem(`${uids.size - secrets} sealed resources have no Secret`);
  return { sealed: uids.size, ready, secrets, owned, rightValues, problems };
}
