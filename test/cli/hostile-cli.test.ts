// The hostile corpus (test/chaos/corpus.ts) through the built CLI, as a user
// would run it: every case exits with the documented code for its error, prints
// one `error: ...` line naming the problem and no plaintext, writes nothing,
// and stays within a time and memory bound measured per process.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import type { HostileCase } from '../chaos/corpus.js';
import { hostileCorpus } from '../chaos/corpus.js';
import type { MeasuredRun } from '../chaos/measure.js';
import { runMeasured } from '../chaos/measure.js';
import { ensureBuilt, tempDir } from '../helpers/cli.js';
import { vectorKey, vectorRecipient } from '../helpers/keys.js';

const MARKER = `hostile-${randomBytes(8).toString('hex')}`;
// Bounds per process on a loaded 2-core machine. A plain `sealbox unseal` of
// a small file peaks near 70 MiB; the 4.5 MB file with 10,000 recipients is the
// largest case. An unguarded alias bomb would need gigabytes.
const MAX_RSS_MB = 400;
const MAX_MS = 15_000;

let dir: string;
let cleanup: () => void;
let corpus: HostileCase[] = [];
/** Figures for docs/SECURITY.md, printed at the end. */
const figures: { what: string; status: number | null; ms: number; rss: number }[] = [];

beforeAll(async () => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('hostile-cli'));
  corpus = await hostileCorpus({ namespace: 'prod', recipient: vectorRecipient('a'), marker: MARKER });
}, 120_000);
afterAll(() => {
  cleanup();
  const peak = figures.reduce((m, f) => Math.max(m, f.rss), 0);
  const slowest = figures.reduce((m, f) => Math.max(m, f.ms), 0);
  process.stderr.write(`hostile CLI inputs: ${figures.length} runs, peak RSS ${peak.toFixed(0)} MiB, slowest ${slowest.toFixed(0)} ms\n`);
});

function expectBounded(what: string, r: MeasuredRun): void {
  figures.push({ what, status: r.status, ms: r.ms, rss: r.maxRssMb });
  expect(r.maxRssMb, `${what}: peak RSS`).toBeLessThan(MAX_RSS_MB);
  expect(r.ms, `${what}: wall time`).toBeLessThan(MAX_MS);
}

function expectRefused(r: MeasuredRun, code: number, message: string): void {
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: code, stderr: expect.stringContaining(message) as unknown });
  expect(r.stderr).toMatch(/^error: [^\n]+\n$/);
  expect(r.stderr).not.toContain(MARKER);
  expect(r.stdout).toBe('');
}

describe('sealbox unseal on hostile sealed files', () => {
  it('exits with each case\'s code, one error line and no output file, within the time and memory bounds', async () => {
    const key = vectorKey('a').keyPath;
    const failures: string[] = [];
    for (const c of corpus) {
      const file = join(dir, `${c.name}.yaml`);
      writeFileSync(file, c.text);
      const r = await runMeasured(['unseal', '--key', key, '-f', file, '-o', join(dir, `${c.name}.out.yaml`)]);
      figures.push({ what: c.name, status: r.status, ms: r.ms, rss: r.maxRssMb });
      const want = EXIT_CODES[c.code];
      const problems = [
        r.status !== want && `exit ${String(r.status)}, want ${want}`,
        !r.stderr.includes(c.message) && `stderr lacks "${c.message}"`,
        !/^error: [^\n]+\n$/.test(r.stderr) && 'stderr is not one error line',
        r.stderr.includes(MARKER) && 'stderr holds the plaintext',
        !(r.maxRssMb < MAX_RSS_MB) && `peak RSS ${r.maxRssMb.toFixed(0)} MiB`,
        !(r.ms < MAX_MS) && `took ${r.ms.toFixed(0)} ms`,
      ].filter((p) => p !== false);
      if (problems.length > 0) failures.push(`${c.name} (${c.what}): ${problems.join('; ')}: ${r.stderr.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.includes('.out.'))).toEqual([]);
  }, 300_000);

  it('refuses a file over 64 MiB before reading it', async () => {
    const file = join(dir, 'huge.yaml');
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(1024 * 1024, '#');
    for (let i = 0; i <= 64; i++) writeSync(fd, chunk);
    closeSync(fd);
    const r = await runMeasured(['unseal', '--key', vectorKey('a').keyPath, '-f', file]);
    expectRefused(r, EXIT_CODES.INPUT, 'larger than 64 MiB');
    expectBounded('a 65 MiB file', r);
    expect(r.maxRssMb).toBeLessThan(150);
  }, 60_000);
});

describe('sealbox seal on hostile Secret manifests', () => {
  const secret = (extra: string): string => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n${extra}`;
  const laughs = ['  l0: &l0 "lol"', ...Array.from({ length: 9 }, (_, i) => `  l${i + 1}: &l${i + 1} [${Array.from({ length: 10 }, () => `*l${i}`).join(', ')}]`)].join('\n');
  it.each([
    { what: 'a billion-laughs bomb in stringData', input: () => secret(`stringData:\n${laughs}\n`), message: 'too many YAML alias expansions' },
    { what: 'stringData nested 100,000 levels deep', input: () => secret(`stringData: {a: ${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`), message: 'invalid YAML' },
    { what: 'values over the 1 MiB Secret limit', input: () => secret(`stringData:\n  a: ${'x'.repeat(600 * 1024)}\n  b: ${'y'.repeat(500 * 1024)}\n`), message: "over Kubernetes' 1 MiB Secret limit" },
    { what: 'a value in bad base64', input: () => secret(`data:\n  a: ${MARKER}!!\n`), message: 'is not valid base64' },
    { what: 'a duplicate key', input: () => secret(`stringData:\n  a: ${MARKER}\n  a: ${MARKER}\n`), message: 'duplicate key' },
  ])('refuses $what with exit 3 within the bounds, writing nothing', async ({ what, input, message }) => {
    const out = join(dir, `sealed-${randomBytes(4).toString('hex')}.yaml`);
    const r = await runMeasured(['seal', '--cert', vectorKey('a').certPath, '-o', out], { input: input() });
    expectRefused(r, EXIT_CODES.INPUT, message);
    expectBounded(what, r);
    expect(readdirSync(dir).filter((f) => f.startsWith('sealed-') || f.startsWith('.sealed-'))).toEqual([]);
  }, 60_000);
});
