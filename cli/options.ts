import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

/** Parses a whole-number option value; commander reports a usage error otherwise. */
export function parseIntOption(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('not a whole number');
  return Number(value);
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `500ms`, `30s`, `10m`, `720h` or `30d` into milliseconds. */
export function parseDuration(value: string): number {
  const m = DURATION_RE.exec(value.trim());
  if (m === null) throw new InvalidArgumentError('not a duration (use e.g. 500ms, 30s, 10m, 720h, 30d)');
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000));
}

/**
 * Reports a usage error (exit 2) as commander reports its own: `error: …`
 * on stderr, then the hint to run --help.
 */
export function usageError(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: 2, code: 'sealbox.usage' });
}

/**
 * A parser for an option that takes one value: giving it twice is a usage
 * error instead of the last one silently winning (`unseal -f a -f b`).
 */
export function once(hint: string): (value: string, previous: unknown) => string {
  let seen = false;
  return (value) => {
    if (seen) throw new InvalidArgumentError(`given more than once; ${hint}`);
    seen = true;
    return value;
  };
}
