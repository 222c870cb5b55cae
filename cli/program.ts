// The sealbox command line: builds the commander program and runs it.
// cli/main.ts (the npm bundle) and cli/binary.ts (the single executable) call `main`.
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, SealboxError } from '../src/errors.js';
import { CLOSED_OUTPUT_EXIT, isClosedOutput } from './io.js';
import { registerCert } from './commands/cert.js';
import { registerCompletion } from './commands/completion.js';
import { registerController } from './commands/controller.js';
import { registerConvert } from './commands/convert.js';
import { registerEdit } from './commands/edit.js';
import { registerExec } from './commands/exec.js';
import { registerKeygen } from './commands/keygen.js';
import { registerKeys } from './commands/keys.js';
import { registerReseal } from './commands/reseal.js';
import { registerRotate } from './commands/rotate.js';
import { registerSeal } from './commands/seal.js';
import { registerUnseal } from './commands/unseal.js';
import { registerValidate } from './commands/validate.js';
import { registerVerify } from './commands/verify.js';
import { configureHelpEverywhere } from './help.js';
import { cliMessage } from './hints.js';
import { terminalSafe } from './terminal.js';

/** Exit code for command-line usage errors (unknown flag, missing argument). */
const USAGE_EXIT = 2;

/** Returns the sealbox commander program, every command registered. */
export function buildProgram(): Command {
  const program = new Command('sealbox')
    .description('Seal Kubernetes Secrets so they are safe to commit; unseal them in the cluster.')
    .version('0.1.0')
    .option('--debug', 'print stack traces of errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerKeygen(program);
  registerSeal(program);
  registerUnseal(program);
  registerEdit(program);
  registerExec(program);
  registerCert(program);
  registerVerify(program);
  registerReseal(program);
  registerValidate(program);
  registerRotate(program);
  registerConvert(program);
  registerKeys(program);
  registerController(program);
  registerCompletion(program);
  configureHelpEverywhere(program);
  return program;
}

/**
 * Runs the sealbox command line on `argv` (as `process.argv`: node, script,
 * arguments) and returns the exit code; prints errors to stderr. Never throws.
 * `program` is a fresh one from buildProgram (commander keeps the state of a
 * parse in it, so it serves one run only).
 */
export async function main(argv: readonly string[], program = buildProgram()): Promise<number> {
  // A reader that goes away (`sealbox seal -f DIR | head -1`) ends the
  // command quietly, as SIGPIPE ends other Unix tools; see CLOSED_OUTPUT_EXIT.
  process.stdout.on('error', (err) => {
    if (isClosedOutput(err)) process.exit(CLOSED_OUTPUT_EXIT);
    throw err;
  });
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (isClosedOutput(err)) return CLOSED_OUTPUT_EXIT;
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : USAGE_EXIT;
    }
    const debug = program.opts<{ debug?: boolean }>().debug === true || process.argv.includes('--debug');
    if (err instanceof SealboxError) {
      process.stderr.write(`error: ${terminalSafe(cliMessage(err))}\n`);
      if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
      return EXIT_CODES[err.code];
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: unexpected failure: ${terminalSafe(message)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return EXIT_CODES.INTERNAL;
  }
}
