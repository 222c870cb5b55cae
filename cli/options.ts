import { InvalidArgumentError } from 'commander';

/** Parses a whole-number option value; commander reports a usage error otherwise. */
export function parseIntOption(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('not a whole number');
  return Number(value);
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
