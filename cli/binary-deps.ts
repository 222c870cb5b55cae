// The heavy dependencies of the single executable (the Kubernetes client, the
// cloud SDKs, node-forge, pino, prom-client), loaded only when a command
// needs them. scripts/build-binary.mjs bundles them into one script, stored
// in the executable as the SEA asset `deps.cjs` and kept out of the startup
// snapshot: a snapshot holding them took ~30 ms longer to start for every
// command. Each import of one of these packages in the binary's bundle
// becomes `loadDependency(name)`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { compileFunction } from 'node:vm';

/** The name of the asset (and, beside the bundle outside a SEA, the file) that holds them. */
export const DEPS_ASSET = 'deps.cjs';

let loaded: Record<string, () => unknown> | undefined;

function depsSource(): string {
  if (isSea()) return getAsset(DEPS_ASSET, 'utf8');
  // the bundle run by plain node (or while the snapshot is built): the file beside it
  return readFileSync(join(dirname(process.argv[1] ?? '.'), DEPS_ASSET), 'utf8');
}

function evaluate(): Record<string, () => unknown> {
  const module = { exports: {} as Record<string, () => unknown> };
  type Wrapper = (m: typeof module, e: typeof module.exports, r: NodeJS.Require) => void;
  const run = compileFunction(depsSource(), ['module', 'exports', 'require'], { filename: DEPS_ASSET }) as Wrapper;
  // the script requires only Node's built-ins: any require resolves them
  run(module, module.exports, createRequire(process.execPath));
  return module.exports;
}

/**
 * Returns the module.exports of the bundled package `name`, evaluating the
 * dependencies' script on first use.
 * @throws {Error} when the build did not bundle `name`
 */
export function loadDependency(name: string): unknown {
  loaded ??= evaluate();
  const get = loaded[name];
  if (get === undefined) throw new Error(`the single executable does not bundle ${name}`);
  return get();
}
