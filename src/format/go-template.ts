/**
 * A small interpreter of Go text/template, enough for Sealed Secrets'
 * `spec.template.data`: text with `{{ pipeline }}` actions (and the `{{-`/`-}}`
 * trim markers), fields of the dot (`.password`, `$.password`), `index`,
 * string, number and boolean literals, parentheses and `|` pipes, and the
 * functions of TEMPLATE_FUNCTIONS (Go's and sprig's most used). Anything else
 * (another function, `if`/`range`/`with`, variables) is refused with
 * SealboxError('INPUT') naming it: never a Secret with a wrong value.
 */
import { SealboxError } from '../errors.js';
import { MAX_TEMPLATE_CHARS, MAX_TEMPLATE_WORK, TEMPLATE_FUNCTIONS, TemplateFunctionError, sizeOf } from './go-template-funcs.js';
import type { TemplateValue } from './go-template-funcs.js';

/** What `{{ .missing }}` prints, as Go does for a key absent from a map. */
export const NO_VALUE = '<no value>';
/**
 * The work one action (`{{ }}`, a comment too) counts for, in characters:
 * reading one costs about what a function over that many does (a few µs),
 * and the 350,000 empty comments of a 2 MiB /v1/convert body were read for
 * free; 4,096 actions fill MAX_TEMPLATE_WORK.
 */
const ACTION_WORK = 1024;
/** Deepest nesting of parentheses read (each level is a recursion of the reader). */
const MAX_PARENS = 64;

type Token = { kind: 'str' | 'num' | 'word' | 'field'; text: string; value?: TemplateValue } | { kind: '(' | ')' | '|' };

const TOKEN_RE = /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)|(\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\$|\.)|([A-Za-z_][A-Za-z0-9_]*)|([()|]))/y;

/**
 * The value of a double-quoted string literal. Throws SealboxError('INPUT')
 * for an escape JSON does not have (Go's `\x41`, `\a`, octal): JSON.parse's
 * SyntaxError reached /v1/convert as a 500 and a status as V8's own words.
 */
function quoted(literal: string, where: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw new SealboxError('INPUT', `${where}: cannot read the string ${literal.slice(0, 40)} in the template; sealbox reads the escapes \\n \\t \\r \\b \\f \\" \\\\ and \\uXXXX`);
  }
}

/** Whitespace between tokens, skipped by position: trimming the rest of the action at each token was quadratic. */
const SPACE_RE = /\s*/y;

function tokenize(src: string, where: string): Token[] {
  const out: Token[] = [];
  for (let pos = 0; ;) {
    SPACE_RE.lastIndex = pos;
    SPACE_RE.exec(src);
    pos = SPACE_RE.lastIndex;
    if (pos >= src.length) return out;
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(src);
    if (m === null) throw new SealboxError('INPUT', `${where}: cannot read "${src.slice(pos, pos + 40).trim()}" in the template`);
    pos = TOKEN_RE.lastIndex;
    if (m[1] !== undefined) out.push({ kind: 'str', text: m[1], value: quoted(m[1], where) });
    else if (m[2] !== undefined) out.push({ kind: 'str', text: m[2], value: m[2].slice(1, -1) });
    else if (m[3] !== undefined) out.push({ kind: 'num', text: m[3], value: Number(m[3]) });
    else if (m[4] !== undefined) out.push({ kind: 'field', text: m[4] });
    else if (m[5] !== undefined) out.push({ kind: 'word', text: m[5] });
    else out.push({ kind: m[6] as '(' | ')' | '|' });
  }
}

/** What the templates of one SealedSecret may still do, shared by their renders (MAX_TEMPLATE_WORK). */
export interface TemplateWork {
  left: number;
}

/** Reads `{{ }}` actions and evaluates them against `dot`. */
class Evaluator {
  #tokens: Token[] = [];
  #at = 0;
  #depth = 0;
  #dotSize: number | undefined;
  constructor(private readonly dot: Readonly<Record<string, string>>, private readonly where: string, private readonly work: TemplateWork) {}

  /** Spends `n` of the work left; throws SealboxError('INPUT') past MAX_TEMPLATE_WORK. */
  spend(n: number): void {
    this.work.left -= n;
    if (this.work.left < 0) {
      throw new SealboxError('INPUT', `${this.where}: the templates' functions read and build more than the ${String(MAX_TEMPLATE_WORK)} characters one SealedSecret's templates may (characters read and built, all its templates together); simplify them, or render the value before sealing it`);
    }
  }

  run(action: string): TemplateValue {
    this.#tokens = tokenize(action, this.where);
    this.#at = 0;
    this.#depth = 0;
    const first = this.#tokens[0];
    if (first?.kind === 'word' && ['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'].includes(first.text)) {
      throw new SealboxError('INPUT', `${this.where}: the template action "${first.text}" is not supported by sealbox; use functions and pipes only`);
    }
    const value = this.#pipeline();
    if (this.#at < this.#tokens.length) throw new SealboxError('INPUT', `${this.where}: unexpected "${tokenText(this.#tokens[this.#at])}" in the template`);
    return value;
  }

  #pipeline(): TemplateValue {
    let value = this.#command(undefined);
    while (this.#tokens[this.#at]?.kind === '|') {
      this.#at++;
      value = this.#command({ value });
    }
    return value;
  }

  #command(piped: { value: TemplateValue } | undefined): TemplateValue {
    const head = this.#tokens[this.#at];
    if (head?.kind !== 'word' || head.text === 'true' || head.text === 'false' || head.text === 'nil') {
      if (piped !== undefined) throw new SealboxError('INPUT', `${this.where}: a pipe must lead into a function`);
      return this.#operand();
    }
    this.#at++;
    const fn = Object.hasOwn(TEMPLATE_FUNCTIONS, head.text) ? TEMPLATE_FUNCTIONS[head.text] : undefined;
    if (fn === undefined) throw new SealboxError('INPUT', `${this.where}: the template function "${head.text}" is not supported by sealbox's compatibility mode`);
    const args: TemplateValue[] = [];
    while (this.#at < this.#tokens.length && this.#tokens[this.#at]?.kind !== '|' && this.#tokens[this.#at]?.kind !== ')') args.push(this.#operand());
    if (piped !== undefined) args.push(piped.value);
    return this.#call(head.text, fn, args);
  }

  /** sizeOf, the dot's computed once. */
  #sizeOf(v: TemplateValue): number {
    if (v !== this.dot) return sizeOf(v);
    this.#dotSize ??= sizeOf(this.dot);
    return this.#dotSize;
  }

  /** Calls one function, its arguments and result bounded in size and counted as work. */
  #call(name: string, fn: (...args: TemplateValue[]) => TemplateValue, args: TemplateValue[]): TemplateValue {
    const tooLarge = `its arguments or result exceed ${String(MAX_TEMPLATE_CHARS)} characters, more than a Secret holds`;
    const argsSize = args.reduce<number>((n, a) => n + this.#sizeOf(a), 0);
    // index looks a key up in the dot: a charge of its whole size would leave room for a few `index . "a-b"` only
    const looksUp = name === 'index' && args[0] === this.dot ? this.#sizeOf(this.dot) : 0;
    if (argsSize <= MAX_TEMPLATE_CHARS) this.spend(argsSize - looksUp + args.length + 1);
    let value: TemplateValue;
    let size = 0;
    try {
      if (argsSize > MAX_TEMPLATE_CHARS) throw new TemplateFunctionError(tooLarge);
      value = fn(...args);
      size = sizeOf(value);
      if (size > MAX_TEMPLATE_CHARS) throw new TemplateFunctionError(tooLarge);
    } catch (err) {
      // Only our own messages: another error's may quote an argument, which may be a value.
      throw new SealboxError('INPUT', `${this.where}: error calling ${name}: ${err instanceof TemplateFunctionError ? err.message : 'invalid arguments'}`);
    }
    this.spend(size);
    return value;
  }

  #operand(): TemplateValue {
    const t = this.#tokens[this.#at++];
    if (t === undefined) throw new SealboxError('INPUT', `${this.where}: the template action is incomplete`);
    if (t.kind === '(') {
      if (++this.#depth > MAX_PARENS) throw new SealboxError('INPUT', `${this.where}: parentheses nested deeper than ${String(MAX_PARENS)} levels in the template`);
      const value = this.#pipeline();
      if (this.#tokens[this.#at++]?.kind !== ')') throw new SealboxError('INPUT', `${this.where}: unclosed "(" in the template`);
      this.#depth--;
      return value;
    }
    if (t.kind === 'str' || t.kind === 'num') return t.value ?? null;
    if (t.kind === 'field') return this.#field(t.text);
    if (t.kind === 'word' && (t.text === 'true' || t.text === 'false')) return t.text === 'true';
    if (t.kind === 'word' && t.text === 'nil') return null;
    throw new SealboxError('INPUT', `${this.where}: unexpected "${tokenText(t)}" in the template`);
  }

  #field(path: string): TemplateValue {
    const parts = path.replace(/^\$/, '').split('.').filter((p) => p !== '');
    if (parts.length === 0) return this.dot; // no function changes its arguments
    if (parts.length > 1) throw new SealboxError('INPUT', `${this.where}: "${path}": the values are strings, which have no fields`);
    const key = parts[0] ?? '';
    return Object.hasOwn(this.dot, key) ? this.dot[key] ?? null : undefined;
  }
}

function tokenText(t: Token | undefined): string {
  if (t === undefined) return '';
  return 'text' in t ? t.text : t.kind;
}

/** Prints a value as Go's fmt %v does for the values templates make. */
export function printValue(v: TemplateValue): string {
  if (v === undefined) return NO_VALUE;
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  const map = v as Readonly<Record<string, string>>;
  return `map[${Object.keys(map).sort().map((k) => `${k}:${printValue(map[k])}`).join(' ')}]`;
}

/**
 * Removes Go's trim-marker spaces (space, tab, CR, LF: text/template's
 * spaceChars) from one end of `s`; not JavaScript's wider trim, which took a
 * no-break space, or a byte 0xA0 of a value rendered as bytes.
 */
function trimGoSpace(s: string, end: 'start' | 'end'): string {
  const space = (i: number): boolean => ' \t\r\n'.includes(s.charAt(i));
  if (end === 'start') {
    let i = 0;
    while (i < s.length && space(i)) i++;
    return s.slice(i);
  }
  let i = s.length;
  while (i > 0 && space(i - 1)) i--;
  return s.slice(0, i);
}

/** An action that only places one value, `{{ .key }}` or `{{ $.key }}`, or a comment; with or without trim markers. */
const PLAIN_ACTION_RE = /\{\{-?\s*(?:\$?\.[A-Za-z_][A-Za-z0-9_]*|\/\*[\s\S]*?\*\/)\s*-?\}\}/y;

/**
 * True when every action of `template` is a plain value reference
 * (`{{ .key }}`, `{{ $.key }}`) or a comment: its output is then its text
 * and the values as they are, with no function over them.
 */
export function placesValuesOnly(template: string): boolean {
  for (let at = template.indexOf('{{'); at >= 0; at = template.indexOf('{{', PLAIN_ACTION_RE.lastIndex)) {
    PLAIN_ACTION_RE.lastIndex = at;
    if (PLAIN_ACTION_RE.exec(template) === null) return false;
  }
  return true;
}

function tooLong(where: string, budget: number): SealboxError {
  return new SealboxError('INPUT', `${where}: the rendered templates exceed ${String(budget)} characters, more than a Secret holds`);
}

/**
 * Renders one Go template against `dot` (the unsealed values as strings).
 * Throws SealboxError('INPUT') naming `where` for syntax it does not read,
 * functions it does not have, an output longer than `budget` characters
 * (default MAX_TEMPLATE_CHARS) and more work than `work` has left (shared by
 * the templates of one SealedSecret; default MAX_TEMPLATE_WORK for this one
 * alone); the message never quotes a value.
 */
export function renderGoTemplate(template: string, dot: Readonly<Record<string, string>>, where: string, budget = MAX_TEMPLATE_CHARS, work: TemplateWork = { left: MAX_TEMPLATE_WORK }): string {
  const ev = new Evaluator(dot, where, work);
  let out = '';
  let rest = template;
  for (;;) {
    if (out.length > budget) throw tooLong(where, budget);
    const open = rest.indexOf('{{');
    if (open < 0) {
      if (out.length + rest.length > budget) throw tooLong(where, budget);
      return out + rest;
    }
    let text = rest.slice(0, open);
    let body = rest.slice(open + 2);
    if (/^-[ \t\r\n]/.test(body)) {
      text = trimGoSpace(text, 'end');
      body = body.slice(1);
    }
    const close = body.indexOf('}}');
    if (close < 0) throw new SealboxError('INPUT', `${where}: unclosed action "{{" in the template`);
    let action = body.slice(0, close);
    rest = body.slice(close + 2);
    if (/[ \t\r\n]-$/.test(action)) {
      action = action.slice(0, -1);
      rest = trimGoSpace(rest, 'start');
    }
    out += text;
    ev.spend(ACTION_WORK);
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(action)) continue;
    out += printValue(ev.run(action));
  }
}
