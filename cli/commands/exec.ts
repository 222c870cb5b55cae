import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { parseSealedDocument, unsealDocuments } from '../../src/format/documents.js';
import { isSealedManifest } from '../../src/format/sealed.js';
import { expandLists } from '../../src/format/secret.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { readText } from '../io.js';
import { unsealUnwrappers } from '../kms.js';
import { collect } from '../options.js';
import { keyUnwrappers } from '../recipients.js';
import { environmentOf } from '../unsealed-values.js';

interface ExecFlags {
  key: string[];
  file: string;
}

/** Unseals `file` into environment variables (see environmentOf for what is refused). */
async function unsealEnvironment(file: string, keys: readonly string[]): Promise<Map<string, string>> {
  const source = file === '-' ? 'standard input' : file;
  const docs = parseDocuments(await readText(file), source);
  const sealed = docs.flatMap((d) => expandLists([d.value]).filter(isSealedManifest).map((v) => parseSealedDocument(v, source, d.index).sealed));
  if (sealed.length === 0) throw new SealboxError('INPUT', `${source} has no sealed secret; sealbox exec needs a file made by "sealbox seal"`);
  const unwrappers = await unsealUnwrappers(await keyUnwrappers(keys), sealed);
  if (unwrappers.length === 0) throw new SealboxError('INPUT', 'no keys: pass --key with a private key file (the input has no KMS recipients to unseal with)');
  const sealedDocs = docs.filter((d) => expandLists([d.value]).some(isSealedManifest));
  return environmentOf(await unsealDocuments(sealedDocs, source, unwrappers));
}

/**
 * Runs `argv` with `env` added to this process's environment; resolves to
 * its exit code (128 + the signal number when a signal ended it). The
 * values exist only in the child's memory: nothing is written to disk.
 */
function run(argv: readonly string[], env: ReadonlyMap<string, string>): Promise<number> {
  const [cmd = '', ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...Object.fromEntries(env) } });
    // The terminal sends ^C to the child too; the child decides, we wait for it.
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const ignoreInt = (): void => undefined;
    process.on('SIGINT', ignoreInt);
    process.on('SIGTERM', forward);
    const done = (): void => {
      process.off('SIGINT', ignoreInt);
      process.off('SIGTERM', forward);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      const why = err.code === 'ENOENT' ? 'command not found' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? 'failed to start');
      reject(new SealboxError('INPUT', `cannot run "${cmd.slice(0, 200)}": ${why}`, { cause: err }));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(signal === null ? (code ?? 1) : 128 + constants.signals[signal]);
    });
  });
}

/** Registers `sealbox exec`. */
export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a command with the values of a sealed file in its environment (KEY=value per key; for key holders); nothing is written to disk, and the exit code is the command\'s')
    .usage('[--key KEY]... -f SEALED -- COMMAND [ARGS...]')
    .option('--key <file>', 'private key (PEM) of a cert recipient; repeat for several keys; KMS recipients need no flag (default credentials)', collect, [])
    .requiredOption('-f, --file <file>', 'sealed file; - for stdin')
    .argument('<command...>', 'the command and its arguments, after --')
    .action(async (argv: string[], flags: ExecFlags) => {
      const env = await unsealEnvironment(flags.file, flags.key);
      process.exitCode = await run(argv, env);
    });
}
