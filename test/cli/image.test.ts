// deploy/Dockerfile without a container engine: the build stage must be given
// every file `npm run build` reads, the bases must be pinned, and the final
// stage's entry command must run over exactly the files its COPY lines lay
// out, in its WORKDIR, with its ENV, as its USER (when this runs as root), with
// the Deployment's args. test/integration/image-controller.test.ts starts the
// controller that way against the control plane.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/cli.js';
import type { ImageRoot } from '../helpers/dockerfile.js';
import { ignoredByContext, imageCommand, imageRoot, inImage, parseDockerfile } from '../helpers/dockerfile.js';

const DOCKERFILE = 'deploy/Dockerfile';
const stages = parseDockerfile(readFileSync(join(ROOT, DOCKERFILE), 'utf8'));
const final = stages.at(-1);

/** What `npm run build` (tsc -p tsconfig.build.json && node scripts/bundle.mjs, and the two files it imports) reads. */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.mjs', 'scripts/lib/bundle-fixes.mjs', 'scripts/lib/legacy-url-parse.mjs', 'src', 'cli'];

interface Container { args: string[]; securityContext: { runAsUser: number; runAsGroup: number } }

function deploymentContainer(): Container {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'deployment.yaml'), 'utf8'));
  const deployment = docs[0]?.toJSON() as { spec: { template: { spec: { containers: Container[] } } } };
  const container = deployment.spec.template.spec.containers[0];
  if (container === undefined) throw new Error('deploy/deployment.yaml has no container');
  return container;
}

function run(image: ImageRoot, args?: readonly string[]): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  const c = imageCommand(image, args);
  return spawnSync(c.file, c.args, { cwd: c.cwd, env: c.env, encoding: 'utf8', timeout: 60_000, ...(c.uid === undefined ? {} : { uid: c.uid, gid: c.gid }) });
}

describe('deploy/Dockerfile', () => {
  let image: ImageRoot | undefined;
  // laid out by the first test that runs the image, so the static checks report on their own
  const laidOut = (): ImageRoot => (image ??= imageRoot(DOCKERFILE));

  afterAll(() => {
    image?.cleanup();
  });

  it('pins every base image by digest', () => {
    expect(stages.length).toBeGreaterThan(1);
    for (const s of stages) expect(s.image).toMatch(/^[\w./:-]+@sha256:[0-9a-f]{64}$/);
  });

  it('runs the final stage as the Deployment\'s non-root user, on a distroless base with no RUN (no package manager)', () => {
    const { securityContext } = deploymentContainer();

    expect(final?.image).toMatch(/^gcr\.io\/distroless\/nodejs\d+-/);
    expect(final?.runs).toEqual([]);
    expect(final?.user).toBe(`${securityContext.runAsUser}:${securityContext.runAsGroup}`);
    expect(securityContext.runAsUser).not.toBe(0);
  });

  it('gives the build stage every file npm run build reads, none of them left out of the build context', () => {
    const ignore = readFileSync(join(ROOT, `${DOCKERFILE}.dockerignore`), 'utf8');
    const build = stages[0];
    const copied = build?.copies.filter((c) => c.from === undefined).flatMap((c) => c.sources) ?? [];
    const files = execFileSync('git', ['ls-files', ...BUILD_INPUTS], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => f !== '');

    expect(files.length).toBeGreaterThan(BUILD_INPUTS.length);
    expect(files.filter((f) => ignoredByContext(ignore, f))).toEqual([]);
    expect(files.filter((f) => !copied.some((c) => f === c || f.startsWith(`${c}/`)))).toEqual([]);
  });

  it('lays out the bundle with no node_modules, and the default command (CMD) prints the help', () => {
    const r = run(laidOut());

    expect(existsSync(inImage(laidOut().root, join(final?.workdir ?? '/', 'node_modules')))).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: sealbox');
  });

  it('runs the Deployment\'s args (the controller) through the ENTRYPOINT', () => {
    const r = run(laidOut(), [...deploymentContainer().args, '--help']);

    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: sealbox controller');
  });
});
