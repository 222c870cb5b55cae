// The YAML in crds/ and deploy/ as the API server sees it: every document
// parsed as written (no client-side model round trip that would drop unknown
// fields) and applied with server-side apply, for real or as a dry run.
import { readFileSync, readdirSync } from 'node:fs';
import * as https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A Kubernetes object as plain JSON. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** One document of a manifest file. */
export interface ManifestDocument {
  readonly file: string;
  readonly index: number;
  readonly object: Manifest;
}

/**
 * Returns every Kubernetes object in the YAML files of `dir` (relative to the
 * repository root), in file order; kustomization.yaml is not an object.
 * @throws {Error} naming the file when a document does not parse
 */
export function readManifests(dir: string): ManifestDocument[] {
  const abs = join(root, dir);
  const files = readdirSync(abs).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
  return files.flatMap((f) => {
    const docs = parseAllDocuments(readFileSync(join(abs, f), 'utf8'));
    return docs.flatMap((d, index) => {
      if (d.errors.length > 0) throw new Error(`${dir}/${f} document ${index}: ${d.errors[0]?.message ?? ''}`);
      const object = d.toJS() as Manifest | null;
      return object === null ? [] : [{ file: `${dir}/${f}`, index, object }];
    });
  });
}

/** The status and parsed body of an API request. */
export interface RawResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Sends one request to the API server with the kubeconfig's credentials. */
export async function rawRequest(kc: k8s.KubeConfig, method: string, path: string, body?: string, contentType = 'application/json'): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const opts: https.RequestOptions = { method, headers: body === undefined ? {} : { 'content-type': contentType } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise<RawResponse>((resolve, reject) => {
    const req = https.request(new URL(path, cluster.server), opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

interface ApiResource { name: string; kind: string; namespaced: boolean }
const discovery = new Map<string, ApiResource[]>();

/**
 * Returns the REST path of an object (collection path + name) from API
 * discovery.
 * @throws {Error} when the API server does not serve the kind
 */
export async function objectPath(kc: k8s.KubeConfig, obj: Manifest): Promise<string> {
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  let resources = discovery.get(base);
  if (resources === undefined) {
    const res = await rawRequest(kc, 'GET', base);
    if (res.status !== 200) throw new Error(`discovery of ${base}: HTTP ${res.status}`);
    resources = (res.body as { resources: ApiResource[] }).resources;
    discovery.set(base, resources);
  }
  const r = resources.find((x) => x.kind === obj.kind && !x.name.includes('/'));
  if (r === undefined) throw new Error(`the API server does not serve ${obj.apiVersion} ${obj.kind}`);
  const ns = r.namespaced ? `/namespaces/${obj.metadata.namespace ?? 'default'}` : '';
  return `${base}${ns}/${r.name}/${encodeURIComponent(obj.metadata.name)}`;
}

/**
 * Server-side applies one object (strict field validation: unknown or
 * duplicate fields are errors), for real or with dryRun=All. Returns the
 * API server's answer; never throws for an HTTP error status.
 */
export async function applyObject(kc: k8s.KubeConfig, obj: Manifest, opts: { dryRun: boolean }): Promise<RawResponse> {
  const query = new URLSearchParams({ fieldManager: 'sealbox-tests', fieldValidation: 'Strict', force: 'true' });
  if (opts.dryRun) query.set('dryRun', 'All');
  return rawRequest(kc, 'PATCH', `${await objectPath(kc, obj)}?${query.toString()}`, JSON.stringify(obj), 'application/apply-patch+yaml');
}

/** Deletes one object; a missing one is fine. Returns the HTTP status. */
export async function deleteObject(kc: k8s.KubeConfig, obj: Manifest): Promise<number> {
  const res = await rawRequest(kc, 'DELETE', await objectPath(kc, obj));
  return res.status;
}
