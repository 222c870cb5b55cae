import { describe, expect, it } from 'vitest';
import { expectSealboxError } from '../../helpers/errors.js';
import { unsealBitnami } from '../../../src/format/bitnami.js';
import type { BitnamiSealed } from '../../../src/format/bitnami.js';
import { MAX_TEMPLATE_WORK } from '../../../src/format/go-template-funcs.js';
import { renderGoTemplate } from '../../../src/format/go-template.js';

// attack19: the output bound (1 MiB, go-template-limits.test.ts) did not
// bound the work. `{{len (splitList "" (repeat 500000 "x"))}}` prints 6
// characters but builds a list of 500,000 strings: ~40 ms of the event loop
// per 42 characters of template, ~15 minutes for one 1 MB SealedSecret of
// an `edit` tenant (no value needed), at every reconcile, every restart and
// every /v1/convert of it: /healthz unanswered, the controller restarted by
// its liveness probe, every tenant starved. An action of many tokens followed
// by spaces was read in quadratic time (20,000 tokens: 16 s).
const splitCall = '{{len (splitList "" (repeat 500000 "x"))}}';

/** `run` is refused as INPUT (any message); returns the error. */
const refusal = (run: () => unknown): Error => expectSealboxError(run, 'INPUT', '');

describe('Go templates: the work of one SealedSecret is bounded, not only its output', () => {
  it('refuses functions that together read and build more than MAX_TEMPLATE_WORK characters', () => {
    const err = refusal(() => renderGoTemplate(splitCall.repeat(20), {}, 'sealedsecret "t/a": template data "k"'));
    expect(err.message).toContain('sealedsecret "t/a": template data "k"');
    expect(err.message).toContain(`more than the ${String(MAX_TEMPLATE_WORK)} characters`);
  });

  it('counts the dot by its size, except where index looks a key up in it', () => {
    const dot = { a: 'x', big: 'y'.repeat(600 * 1024) };
    expect(renderGoTemplate('{{ index . "a" }}'.repeat(1000), dot, 'k')).toBe('x'.repeat(1000));
    expect(refusal(() => renderGoTemplate('{{ len (toJson .) }}'.repeat(8), dot, 'k')).message).toContain('characters read and built');
  });

  it('counts each action, comments too', () => {
    expect(renderGoTemplate('{{/* */}}'.repeat(4000), {}, 'k')).toBe('');
    expect(refusal(() => renderGoTemplate('{{/* */}}'.repeat(5000), {}, 'k')).message).toContain('characters read and built');
  });

  it('bounds the templates of one SealedSecret together', async () => {
    const s: BitnamiSealed = { namespace: 't', name: 'a', scope: 'strict', encryptedData: {}, template: { data: { a: splitCall } } };
    expect((await unsealBitnami(s, () => Promise.resolve(null), 'w')).data.a).toBe(Buffer.from('500000').toString('base64'));
    const two: BitnamiSealed = { ...s, template: { data: { a: splitCall, b: splitCall } } };
    await expect(unsealBitnami(two, () => Promise.resolve(null), 'w')).rejects.toThrow(/characters read and built/);
  });

  it('still renders a large value through a few functions', () => {
    const big = 'z'.repeat(700 * 1024);
    const out = renderGoTemplate('{{ .big | trim | b64enc }}{{ .big | sha256sum }}', { big }, 'k');
    expect(out.length).toBe(Buffer.from(big).toString('base64').length + 64);
  });

  it('reads an action of many tokens and trailing spaces in linear time', () => {
    const action = `{{ list ${'x '.repeat(20_000)}${' '.repeat(200_000)}}}`;
    const start = performance.now();
    expect(refusal(() => renderGoTemplate(action, {}, 'k')).message).toContain('unexpected "x"');
    // Quadratic before (each token trimmed the rest): 4-16 s here; linear: milliseconds.
    expect(performance.now() - start).toBeLessThan(1500);
  });
});

describe('Go templates: quote, printf, b32enc and nospace in one pass give what Go gives', () => {
  it.each([
    ['{{ quote .s }}', { s: 'a"b\\c\x07\b\f\n\r\t\v\x01\x7f\ufffdé😀' }, '"a\\"b\\\\c\\a\\b\\f\\n\\r\\t\\v\\x01\\x7f\\ufffdé😀"'],
    ['{{ quote "" }}', {}, '""'],
    ['{{ printf "%%%s%x%d100%" "a" "b" }}', {}, '%a%xb100%'],
    ['{{ printf "%q|%v" .s 4 }}', { s: 'x\ny' }, '"x\\ny"|4'],
    ['{{ b32enc "foobar" }}|{{ b32enc "f" }}|{{ b32enc "" }}|{{ b32enc "fooba" }}', {}, 'MZXW6YTBOI======|MY======||MZXW6YTB'],
    ['{{ b32enc .s }}', { s: 'é\u0000\u00ff' }, 'YOUQBQ57'],
    ['{{ nospace .s }}', { s: ' a \t b\n\u00a0c  ' }, 'abc'],
  ])('%s', (template, dot: Record<string, string>, out) => {
    expect(renderGoTemplate(template, dot, 'k')).toBe(out);
  });
});

describe('Go templates: a string literal sealbox cannot read', () => {
  it('is refused as INPUT naming it, not thrown as a SyntaxError (a 500 from /v1/convert, V8\'s words in a status)', () => {
    const err = refusal(() => renderGoTemplate('{{ "\\x41" | upper }}', {}, 'sealedsecret "t/a": template data "k"'));
    expect(err.message).toContain('sealedsecret "t/a": template data "k": cannot read the string "\\x41"');
  });
});
