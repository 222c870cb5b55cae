// A peer program that a build script beside its helper makes and caches by
// version (test/cluster/helm.sh, test/judges/argocd-lua.sh): the script prints
// the binary's path, and is a no-op once the binary is cached.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Returns a function giving the path of the binary that `script` builds,
 * running the script once per test process (the first build takes minutes).
 * @param script - URL of the build script
 * @throws {Error} from the returned function when the build fails
 */
export function builtTool(script: URL): () => string {
  let path: string | undefined;
  return () => {
    path ??= execFileSync('bash', [fileURLToPath(script)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    return path;
  };
}
