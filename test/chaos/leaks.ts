// Searching for a plaintext everywhere sealbox writes: the string itself, its
// hex, and its base64 at all three byte alignments (a plaintext inside a
// longer value encodes differently depending on where it starts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The forms of `plaintext` to search for; each at least 20 characters for a 30-character plaintext. */
export function leakNeedles(plaintext: string): string[] {
  const bytes = Buffer.from(plaintext);
  const out = [plaintext, bytes.toString('hex'), bytes.toString('base64url').slice(0, -2)];
  for (let offset = 0; offset < 3; offset++) {
    const enc = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // drop the characters that mix in the leading padding bytes or the trailing partial group
    const start = offset === 0 ? 0 : 4;
    out.push(enc.slice(start, enc.length - 4));
  }
  return out;
}

/** Every regular file under `dir` (recursively) with its content; unreadable ones are skipped. */
export function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isDirectory()) out.push(...filesUnder(p));
      else if (st.isFile()) out.push({ path: p, text: readFileSync(p).toString('latin1') });
    } catch {
      // removed while we looked
    }
  }
  return out;
}

/** Names of the haystacks that contain any needle, with the needle's form. */
export function findLeaks(haystacks: ReadonlyMap<string, string>, needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of haystacks) {
    const i = needles.findIndex((n) => text.includes(n));
    if (i >= 0) found.push(`${where} (form ${i})`);
  }
  return found;
}
