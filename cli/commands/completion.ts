import type { Command } from 'commander';
import { Argument } from 'commander';
import type { Shell } from '../completion.js';
import { SHELLS, completionScript } from '../completion.js';

/** Registers `sealbox completion SHELL`. */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(sealbox completion bash), or zsh; fish: sealbox completion fish | source')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell, program));
    });
}
