import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/**
 * The first fenced code block of `language` under the README heading that
 * starts with `heading` (up to the next heading of the same or a higher
 * level), exactly as printed. Throws when there is none, so a test that
 * runs README text fails when the README changes shape.
 */
export function readmeBlock(heading: string, language = 'sh'): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = text.split('\n').findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`README.md has no heading "${heading}"`);
  const lines = text.split('\n').slice(start);
  const level = /^#+/.exec(lines[0] ?? '')?.[0].length ?? 1;
  const end = lines.findIndex((l, i) => i > 0 && new RegExp(`^#{1,${level}} `).test(l));
  const section = lines.slice(0, end < 0 ? undefined : end).join('\n');
  const m = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (m?.[1] === undefined) throw new Error(`README.md section "${heading}" has no \`\`\`${language} block`);
  return m[1];
}
