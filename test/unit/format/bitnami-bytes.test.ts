import { describe, expect, it } from 'vitest';
import { unsealBitnami } from '../../../src/format/bitnami.js';
import type { BitnamiSealed } from '../../../src/format/bitnami.js';
import { renderGoTemplate } from '../../../src/format/go-template.js';

// attack19: values were rendered as UTF-8 text, so a byte that is not UTF-8
// became U+FFFD (3 bytes) in a template's output. Go renders bytes, so the
// Secret differed from Sealed Secrets' for a binary value, and /v1/convert,
// which renders plain references for any caller, answered a ciphertext whose
// length told how many such bytes someone else's value held (and the 1 Mi
// character bound, counted in UTF-16 units, how many characters).
const binary = Buffer.from([0xff, 0x00, 0xc3, 0x41, 0xa0, 0xe2, 0x82]);

/** The SealedSecret `t/a` with one value `bin` (opened by the opener below) and `template` data. */
function sealed(template: Record<string, string>): BitnamiSealed {
  return { namespace: 't', name: 'a', scope: 'strict', encryptedData: { bin: 'AAAA' }, template: { data: template } };
}
const open = (): Promise<Uint8Array> => Promise.resolve(new Uint8Array(binary));

describe('Sealed Secrets templates that only place values render bytes, as Go does', () => {
  it('places a value that is not UTF-8 as it is, beside text that is', async () => {
    const out = await unsealBitnami(sealed({ x: 'é-{{ .bin }}-{{/* c */}}{{ $.bin }}{{ .none }}' }), open, 'w');
    const want = Buffer.concat([Buffer.from('é-'), binary, Buffer.from('-'), binary, Buffer.from('<no value>')]);
    expect(Buffer.from(out.data.x ?? '', 'base64')).toEqual(want);
    expect(Buffer.from(out.data.bin ?? '', 'base64')).toEqual(binary);
  });

  it('trims only space, tab, CR and LF at a trim marker, as Go does (not a no-break space, nor a byte 0xA0)', async () => {
    expect(renderGoTemplate('a\u00a0 {{- .x -}} \u3000b', { x: 'v' }, 'k')).toBe('a\u00a0v\u3000b');
    const out = await unsealBitnami(sealed({ x: '{{ .bin -}}\n\t x' }), open, 'w');
    expect(Buffer.from(out.data.x ?? '', 'base64')).toEqual(Buffer.concat([binary, Buffer.from('x')]));
  });

  it('still renders a template with functions over the values as UTF-8 text', async () => {
    const out = await unsealBitnami(sealed({ x: '{{ len .bin }}' }), open, 'w');
    expect(Buffer.from(out.data.x ?? '', 'base64').toString()).toBe(String(Buffer.byteLength(binary.toString('utf8'))));
  });
});
