// Reads deploy/Dockerfile the way a container engine would, and lays out the
// image's final stage from this checkout, so a test can run the image's entry
// command without a container engine:
//
//   parseDockerfile(text)        the stages: FROM, WORKDIR, ENV, COPY, RUN, USER, ENTRYPOINT, CMD;
//   ignoredByContext(ignore, p)  whether the .dockerignore leaves repository path p out of the build context;
//   layOutImage(stages, root)    copies what the final stage's COPY lines would copy into `root`
//                                (`--from=<build stage>` sources are this checkout, built by `npm run build`);
//   imageRoot(dockerfile)        a temporary root laid out so, with this process's node as the image's;
//   imageCommand(image, args)    how to run the ENTRYPOINT there: its WORKDIR, ENV and USER.
import { chmodSync, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
import { ensureBuilt, ROOT, tempDir } from './cli.js';

/** One COPY line. */
export interface CopyLine {
  readonly from?: string;
  readonly sources: readonly string[];
  readonly dest: string;
}

/** One build stage, with the instructions a test needs. */
export interface Stage {
  readonly image: string;
  readonly name?: string;
  workdir: string;
  readonly env: Record<string, string>;
  readonly copies: CopyLine[];
  readonly runs: string[];
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
}

/** Joins continued lines (`\` at the end) and drops comments and blank lines. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    current += line.endsWith('\\') ? `${line.slice(0, -1)} ` : line;
    if (!line.endsWith('\\')) {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
    }
  }
  return out;
}

/** The exec (JSON) form of ENTRYPOINT/CMD; the shell form has no shell in a distroless image. */
function execForm(instruction: string, args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`${instruction} ${args}: not the exec form (a JSON array of strings)`);
  }
  return parsed;
}

function parseCopy(args: string): CopyLine {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  const dest = paths.pop();
  if (dest === undefined || paths.length === 0) throw new Error(`COPY ${args}: needs a source and a destination`);
  return { ...(from === undefined ? {} : { from }), sources: paths, dest };
}

function parseEnv(stage: Stage, args: string): void {
  for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
    const [, key = '', value = ''] = m;
    stage.env[key] = value.startsWith('"') ? value.slice(1, -1) : value;
  }
}

function applyInstruction(stage: Stage, op: string, args: string): void {
  if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
  else if (op === 'ENV') parseEnv(stage, args);
  else if (op === 'COPY') stage.copies.push(parseCopy(args));
  else if (op === 'RUN') stage.runs.push(args);
  else if (op === 'USER') stage.user = args;
  else if (op === 'ENTRYPOINT') stage.entrypoint = execForm(op, args);
  else if (op === 'CMD') stage.cmd = execForm(op, args);
}

/**
 * Parses a Dockerfile into its stages, in order.
 * @throws {Error} on an instruction before FROM, or an ENTRYPOINT/CMD not in exec form
 */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of instructions(text)) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (m === null) throw new Error(`FROM ${args}: not understood`);
      stages.push({ image: m[1] ?? '', ...(m[2] === undefined ? {} : { name: m[2] }), workdir: '/', env: {}, copies: [], runs: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${op} before FROM`);
    applyInstruction(stage, op.toUpperCase(), args);
  }
  return stages;
}

function globRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\0/g, '.*');
  return new RegExp(`^${source}$`);
}

/**
 * Whether a .dockerignore (its text) leaves the repository path `path` out of
 * the build context: the last pattern matching the path or a folder above it
 * decides, `!` patterns bring paths back.
 */
export function ignoredByContext(ignoreText: string, path: string): boolean {
  let ignored = false;
  const parts = path.split('/');
  for (const raw of ignoreText.split('\n').map((l) => l.trim())) {
    if (raw === '' || raw.startsWith('#')) continue;
    const negated = raw.startsWith('!');
    const re = globRegExp((negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, ''));
    if (parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')))) ignored = !negated;
  }
  return ignored;
}

/** What a build stage's RUN lines make, as paths relative to its WORKDIR. */
function madeByRuns(stage: Stage): string[] {
  const made: string[] = [];
  if (stage.runs.some((r) => /\bnpm (ci|install)\b/.test(r))) made.push('node_modules');
  if (stage.runs.some((r) => r.includes('npm run build'))) made.push('dist');
  return made;
}

/** Expands one source (a `*` is allowed in its last part) to repository paths. */
function expand(path: string): string[] {
  const name = basename(path);
  if (!name.includes('*')) return existsSync(join(ROOT, path)) ? [path] : [];
  const re = globRegExp(name);
  const dir = dirname(path);
  return readdirSync(join(ROOT, dir)).filter((n) => re.test(n)).map((n) => posix.join(dir, n));
}

/** The repository paths a final-stage COPY source stands for. */
function repositoryPaths(stages: readonly Stage[], copy: CopyLine, source: string): string[] {
  if (copy.from === undefined) return expand(source);
  const build = stages.find((s) => s.name === copy.from);
  if (build === undefined) throw new Error(`COPY --from=${copy.from}: no stage of that name`);
  const inBuild = posix.relative(build.workdir, posix.resolve(build.workdir, source));
  const made = [...build.copies.flatMap((c) => c.sources.map((s) => posix.relative(build.workdir, posix.resolve(build.workdir, s)))), ...madeByRuns(build)];
  if (!made.some((m) => inBuild === m || inBuild.startsWith(`${m}/`))) {
    throw new Error(`COPY --from=${copy.from} ${source}: nothing in stage "${copy.from}" makes it`);
  }
  return expand(inBuild);
}

/**
 * Lays out the final stage's files under `root` as its COPY lines would:
 * sources from a build stage are taken from this checkout (dist/ as `npm run
 * build` made it). Returns the final stage.
 * @throws {Error} when a source matches nothing, or no stage makes it
 */
export function layOutImage(stages: readonly Stage[], root: string): Stage {
  const final = stages.at(-1);
  if (final === undefined) throw new Error('the Dockerfile has no stage');
  for (const copy of final.copies) {
    const dest = posix.resolve(final.workdir, copy.dest);
    for (const source of copy.sources) {
      const paths = repositoryPaths(stages, copy, source);
      if (paths.length === 0) throw new Error(`COPY ${source} ${copy.dest}: matches nothing in ${ROOT}`);
      const intoDir = copy.dest.endsWith('/') || paths.length > 1 || copy.sources.length > 1;
      for (const p of paths) {
        const target = join(root, intoDir ? posix.join(dest, basename(p)) : dest);
        mkdirSync(dirname(target), { recursive: true });
        // COPY of a folder copies its contents
        cpSync(join(ROOT, p), target, { recursive: statSync(join(ROOT, p)).isDirectory() });
      }
    }
  }
  return final;
}

/** The path under `root` of an absolute path inside the image. */
export const inImage = (root: string, path: string): string => join(root, relative('/', path));

/** A temporary root laid out as the image's final stage. */
export interface ImageRoot {
  readonly root: string;
  readonly stages: readonly Stage[];
  readonly final: Stage;
  readonly cleanup: () => void;
}

/**
 * Lays out the final stage of `dockerfile` (a repository path) in a fresh
 * folder, readable by everyone and writable by root only, and puts this
 * process's node where the ENTRYPOINT expects the image's (a hard link: cheap,
 * and reachable by the image's user when this node lives under /root).
 * @throws {Error} as layOutImage does, or when the ENTRYPOINT is missing
 */
export function imageRoot(dockerfile: string): ImageRoot {
  ensureBuilt();
  const stages = parseDockerfile(readFileSync(join(ROOT, dockerfile), 'utf8'));
  const { dir: root, cleanup } = tempDir('image');
  chmodSync(root, 0o755);
  const final = layOutImage(stages, root);
  const program = final.entrypoint?.[0];
  if (program === undefined) throw new Error(`${dockerfile}: the final stage has no ENTRYPOINT`);
  if (basename(program) === 'node') {
    const node = inImage(root, program);
    mkdirSync(dirname(node), { recursive: true });
    try {
      linkSync(process.execPath, node);
    } catch {
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
    }
  }
  return { root, stages, final, cleanup };
}

/** How to run the image's entry command: spawn `file` with `args` and these options. */
export interface ImageCommand {
  readonly file: string;
  readonly args: string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** the USER's ids, set only when this process runs as root (it may switch) */
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * ENTRYPOINT + `args` (default: CMD), with absolute paths that exist in the
 * image moved under its root, its WORKDIR as working folder, its ENV only (no
 * variable of this process leaks in) and, when this process is root, its USER.
 */
export function imageCommand(image: ImageRoot, args?: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): ImageCommand {
  const { root, final } = image;
  const words = [...(final.entrypoint ?? []), ...(args ?? final.cmd ?? [])];
  const mapped = words.map((w) => (w.startsWith('/') && existsSync(inImage(root, w)) ? inImage(root, w) : w));
  const [file = '', ...rest] = mapped;
  const [uid, gid] = (final.user ?? '0').split(':').map(Number);
  const asUser = process.getuid?.() === 0 && uid !== undefined && Number.isInteger(uid);
  return {
    file, args: rest, cwd: inImage(root, final.workdir),
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...final.env, ...extraEnv },
    ...(asUser ? { uid, gid: gid ?? uid } : {}),
  };
}
