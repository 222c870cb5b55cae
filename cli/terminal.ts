/**
 * Text bound for a terminal. Messages quote names, keys and answers that an
 * attacker can choose (a sealed file's namespace, a controller's reply); raw
 * escape sequences in them could retitle the terminal, hide lines or reorder
 * text, so every control character (C0, DEL, C1) and every bidirectional
 * formatting character is shown as `?`.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Returns `s` with control and bidi characters replaced by `?`; newlines are kept. */
export function terminalSafe(s: string): string {
  return s.replace(UNPRINTABLE, '?');
}

/** Returns at most `max` characters of `s`, on one line, safe for a terminal. */
export function printable(s: string, max: number): string {
  return terminalSafe(s.slice(0, max)).replace(/\n/g, '?');
}
