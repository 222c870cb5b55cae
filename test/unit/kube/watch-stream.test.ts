import { describe, expect, it } from 'vitest';
import { eachLine } from '../../../src/kube/watch-stream.js';

/** `text` as a response body arriving `size` bytes at a time (a TLS record is at most 16 KiB). */
async function* chunked(text: string, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.from(text, 'utf8');
  for (let i = 0; i < buf.length; i += size) {
    yield buf.subarray(i, i + size);
    await Promise.resolve();
  }
}

async function linesOf(text: string, size: number): Promise<string[]> {
  const out: string[] = [];
  await eachLine(chunked(text, size), (line) => {
    out.push(line);
    return Promise.resolve();
  });
  return out;
}

describe('eachLine', () => {
  it('splits events at newlines across chunks, skips blank lines, keeps multi-byte characters whole and a last line without a newline', async () => {
    const text = '{"a":"é€😀"}\n\n{"b":1}\r\n  \n{"c":"ü"}';
    for (const size of [1, 2, 3, 5, 64]) {
      expect(await linesOf(text, size)).toEqual(['{"a":"é€😀"}', '{"b":1}\r', '{"c":"ü"}']);
    }
  });

  // attack17: each chunk was appended to the unfinished line and the whole
  // line split again, so one line of n bytes in chunks of c cost n²/2c: a
  // tenant's 1 MiB labelled Secret, updated in a loop, kept the controller's
  // event loop busy for ~0.5 s per update (16 KiB chunks). 8 MiB in 1 KiB
  // chunks took minutes that way; read in linear time it takes milliseconds.
  it('reads one long line in small chunks in linear time (a tenant\'s 1 MiB Secrets cannot stall the watch)', async () => {
    const value = 'x'.repeat(8 * 1024 * 1024);
    const lines = await linesOf(`{"v":"${value}"}\n{"w":2}\n`, 1024);
    expect(lines.map((l) => l.length)).toEqual([value.length + 8, 7]);
  }, 10_000);
});
