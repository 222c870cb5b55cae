import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The core's messages name no CLI flag: the advice is a hint that the CLI
// words as flags (cli/hints.ts) and the controller as status text.
const ROOTS = ['src/crypto', 'src/format', 'src/keys'];
// Messages for the cluster admin that name the controller's own flags, on purpose.
const ALLOWED = new Set(['NOT_ALLOWED_MESSAGE', 'NO_AWS_ACCOUNT_MESSAGE', 'KMS_BUDGET_MESSAGE']);
const FLAG = /(^|[\s("'`])--[a-z]/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The text of every string and template literal of a `new SealboxError(…)` or a `*_MESSAGE` constant in `text`, outside the allowed constants. */
function literals(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node, inMessage: boolean): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && ALLOWED.has(node.name.text)) return;
    const message = inMessage || (ts.isNewExpression(node) && node.expression.getText(source) === 'SealboxError') || (ts.isVariableDeclaration(node) && node.name.getText(source).endsWith('_MESSAGE'));
    if (!message) { ts.forEachChild(node, (n) => { visit(n, false); }); return; }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push(node.text);
    if (ts.isTemplateExpression(node)) out.push([node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join('${}'));
    ts.forEachChild(node, (n) => { visit(n, true); });
  };
  visit(source, false);
  return out;
}

/** The literals of `file` that name a flag, with the file's path. */
function flagMessages(file: string, text = readFileSync(file, 'utf8')): string[] {
  return literals(file, text).filter((text) => FLAG.test(text)).map((text) => `${file}: ${text}`);
}

describe('messages of src/crypto, src/format and src/keys', () => {
  it('name no CLI flag (the CLI adds the flags from the error hint)', () => {
    const files = ROOTS.flatMap(tsFiles);

    expect(files.length).toBeGreaterThan(20);
    expect(files.flatMap((f) => flagMessages(f))).toEqual([]);
  });

  it('finds a flag in a message of any quoting, and skips only the allowed constants', () => {
    const code = [
      "throw new SealboxError('INPUT', `--bits ${bits}: use a multiple of 8`);",
      "throw new SealboxError('INPUT', 'nothing matches; pass --name');",
      "export const KMS_BUDGET_MESSAGE = 'twice --kms-timeout';",
      "export const OTHER_MESSAGE = 'pass --cert';",
      "const usage = 'not an error message: sealbox reseal --compact';",
    ].join('\n');

    expect(flagMessages('x.ts', code)).toEqual(['x.ts: --bits ${}: use a multiple of 8', 'x.ts: nothing matches; pass --name', 'x.ts: pass --cert']);
  });
});
