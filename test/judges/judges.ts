// The programs that judge sealbox's status as GitOps tools do, built by the
// scripts beside this file and cached by version: Argo CD's own Lua VM
// (argocd-lua.sh) running deploy/argocd/health.lua.
import { readFileSync } from 'node:fs';
import { builtTool } from '../helpers/built-tool.js';
import { run } from '../helpers/child.js';

/** What Argo CD computes for one object: its argocd-cm key, and the health (null: no health). */
export interface ArgoVerdict {
  readonly key: string;
  readonly health: { readonly status: string; readonly message?: string } | null;
  readonly error?: string;
}

/**
 * Returns the path of the Argo CD Lua VM program, running argocd-lua.sh
 * first (a no-op when cached; the first build takes minutes).
 */
export const argocdLuaBinary = builtTool(new URL('./argocd-lua.sh', import.meta.url));

/** deploy/argocd/health.lua, the script users install. */
export function healthLua(): string {
  return readFileSync(new URL('../../deploy/argocd/health.lua', import.meta.url), 'utf8');
}

/**
 * Returns Argo CD's health of each object with `script` installed as the
 * argocd-cm health customization of its group/kind, in order.
 * @throws {Error} when the program fails
 */
export async function argocdHealth(script: string, objects: readonly unknown[]): Promise<ArgoVerdict[]> {
  const r = await run(argocdLuaBinary(), [], { input: JSON.stringify({ script, objects }), timeoutMs: 30_000 });
  if (r.status !== 0) throw new Error(`argocd-lua exited ${String(r.status)}: ${r.stderr.toString('utf8')}`);
  return JSON.parse(r.stdout.toString('utf8')) as ArgoVerdict[];
}
