import { describe, expect, it } from 'vitest';
import { expectSealboxError } from '../../helpers/errors.js';
import { unsealBitnami } from '../../../src/format/bitnami.js';
import type { BitnamiSealed } from '../../../src/format/bitnami.js';
import { renderGoTemplate } from '../../../src/format/go-template.js';

// A tenant's template must not make the controller build a string larger
// than a Secret can hold: `{{ repeat 400000000 "x" }}` used to allocate
// 400 MB and abort the controller (heap limit 192 MiB) for every tenant.
const big = 'y'.repeat(600 * 1024);
const dot = { big, comma: ',', secret: 's3cr3t-value' };

/** `run` is refused as INPUT (any message); returns the error. */
const refusal = (run: () => unknown): Error => expectSealboxError(run, 'INPUT', '', { secrets: ['s3cr3t'] });

describe('Go templates: outputs bounded by what a Secret holds', () => {
  it.each([
    ['repeat', '{{ repeat 400000000 "x" }}'],
    ['repeat of a value', '{{ .big | repeat 2 }}'],
    ['indent', '{{ repeat 1000 "a\\n" | indent 4000 }}'],
    ['nindent', '{{ "a\\na\\na\\na" | nindent 400000000 }}'],
    ['replace', '{{ .big | replace "" .big }}'],
    ['join', '{{ join .big (splitList "," (repeat 1000 .comma)) }}'],
    ['cat', '{{ cat .big .big }}'],
    ['printf', '{{ printf "%s%s" .big .big }}'],
  ])('refuses %s past 1 MiB without building it', (_name, template) => {
    const err = refusal(() => renderGoTemplate(template, dot, 'sealedsecret "t/a": template data "k"'));
    expect(err.message).toContain('sealedsecret "t/a": template data "k"');
    expect(err.message).toContain('more than a Secret holds');
  });

  it('refuses one template whose actions add up past 1 MiB', () => {
    expect(refusal(() => renderGoTemplate('{{ .big }}{{ .big }}', dot, 'k')).message).toContain('rendered templates exceed');
  });

  it('refuses parentheses nested past 64 levels (each is a recursion)', () => {
    const deep = `{{ ${'('.repeat(100_000)}.secret${')'.repeat(100_000)} }}`;
    expect(refusal(() => renderGoTemplate(deep, dot, 'k')).message).toContain('nested deeper than 64');
    expect(renderGoTemplate(`{{ ${'('.repeat(64)}.secret${')'.repeat(64)} }}`, dot, 'k')).toBe('s3cr3t-value');
  });

  it('still renders a large value that fits', () => {
    expect(renderGoTemplate('{{ .big | upper }}', dot, 'k')).toHaveLength(big.length);
  });

  it('bounds the templates of one SealedSecret together, not each alone', async () => {
    const template = { data: Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${String(i)}`, `{{ "x" | repeat ${String(400 * 1024)} }}`])) };
    const s: BitnamiSealed = { namespace: 't', name: 'a', scope: 'strict', encryptedData: {}, template };
    await expect(unsealBitnami(s, () => Promise.resolve(null), 'sealedsecret "t/a"')).rejects.toThrow(/rendered templates exceed/);
    const two: BitnamiSealed = { ...s, template: { data: { a: template.data.k0 ?? '', b: template.data.k1 ?? '' } } };
    const out = await unsealBitnami(two, () => Promise.resolve(null), 'sealedsecret "t/a"');
    expect(Buffer.from(out.data.b ?? '', 'base64')).toHaveLength(400 * 1024);
  });
});

describe('Go templates: a function error never quotes a value', () => {
  it.each([
    ['indent by a negative value', '{{ indent .pin "x" }}'],
    ['nindent by a negative value', '{{ .user | nindent .pin }}'],
  ])('%s', (_name, template) => {
    const err = refusal(() => renderGoTemplate(template, { pin: '-424242', user: 'u', secret: 's3cr3t-value' }, 'k'));
    expect(err.message).not.toContain('424242');
    expect(err.message).toContain('error calling');
  });
});
