/**
 * The path patterns of `.sealbox.yaml` rules: a small glob dialect matched
 * against a `/`-separated path relative to the config file's folder. `*` and
 * `?` stay within one folder, `**` spans any number of folders (none
 * included), `[abc]`/`[!abc]` are character classes, `{a,b}` alternatives.
 * (node:path's matchesGlob is still experimental on Node 20 and warns.)
 */
import { SealboxError } from '../src/errors.js';

const cache = new Map<string, RegExp>();

/** True when `path` (relative, `/`-separated) matches `pattern`. Throws SealboxError('INPUT') for a malformed pattern. */
export function matchesGlob(path: string, pattern: string): boolean {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^${globSource(pattern, pattern)}$`, 'u');
    cache.set(pattern, re);
  }
  return re.test(path);
}

function globSource(pattern: string, whole: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*' && pattern[i + 1] === '*') {
      const atStart = i === 0 || pattern[i - 1] === '/';
      const next = pattern[i + 2];
      if (atStart && next === '/') {
        out += '(?:[^/]*/)*'; // zero or more whole folders
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw bad(whole, 'unclosed "["');
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, '\\\\').replace(/\//g, '')}]`;
      i = end;
    } else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) throw bad(whole, 'unclosed "{"');
      const alts = pattern.slice(i + 1, end).split(',');
      out += `(?:${alts.map((a) => globSource(a, whole)).join('|')})`;
      i = end;
    } else {
      out += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
    }
  }
  return out;
}

function bad(pattern: string, why: string): SealboxError {
  return new SealboxError('INPUT', `path pattern "${pattern.slice(0, 100)}": ${why}`);
}
