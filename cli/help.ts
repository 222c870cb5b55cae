import type { Command, Option } from 'commander';
import { Help } from 'commander';

/** Every command of the tree below `program` (itself included), parents first. */
export function allCommands(program: Command): Command[] {
  return [program, ...program.commands.flatMap((c) => allCommands(c))];
}

/**
 * Help that does not print "(default: [])" after repeatable options: an
 * empty list is how commander collects them, not a value the user chose.
 */
class SealboxHelp extends Help {
  override optionDescription(option: Option): string {
    if (!Array.isArray(option.defaultValue) || option.defaultValue.length > 0) return super.optionDescription(option);
    const shown = Object.assign(Object.create(Object.getPrototypeOf(option) as object) as Option, option, { defaultValue: undefined });
    return super.optionDescription(shown);
  }
}

/** Applies sealbox's help to every command of the tree (call after registering them all). */
export function configureHelpEverywhere(program: Command): void {
  for (const c of allCommands(program)) c.createHelp = () => Object.assign(new SealboxHelp(), c.configureHelp());
}
