// A bounded fuzz run of the parsers and the unsealer (issue 7, item 3), for CI:
// `vitest run --config test/fuzz/vitest.config.ts` (SEALBOX_FUZZ_SECONDS, default
// 60, split over the targets). Inputs are valid sealed files and Secrets and
// the hostile corpus, mutated byte-wise and structurally by fast-check. The
// only error any target may throw is a SealboxError without the plaintext;
// every call finishes within a time bound and the process's memory stays
// bounded. The fast-check properties in test/unit/format/properties*.test.ts
// check single mutations for a fixed number of runs; this keeps going for a
// time budget with stacked mutations.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealboxError } from '../../src/errors.js';
import { unsealDocuments } from '../../src/format/documents.js';
import { parseSealedSecret } from '../../src/format/sealed.js';
import { parseSecret } from '../../src/format/secret.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { hostileCorpus } from '../chaos/corpus.js';
import { vectorIdentity, vectorRecipient } from '../helpers/keys.js';
import { DELETE, pathsOf, withPath } from '../helpers/paths.js';

const BUDGET_MS = Number(process.env.SEALBOX_FUZZ_SECONDS ?? '60') * 1000;
const TARGETS = 4;
/** Any single call: far above normal (milliseconds), far below a hang. */
const MAX_CALL_MS = 10_000;
/** Resident memory of the whole test process, sampled after every input. */
const MAX_RSS_MB = 1024;
const MARKER = `fuzz-${randomBytes(8).toString('hex')}`;
const SEED = Number(process.env.SEALBOX_FUZZ_SEED ?? Date.now() % 2 ** 31);

let seeds: string[] = [];
let sealedObject: unknown;
let secretObject: unknown;
const stats = { inputs: 0, sealboxErrors: 0, accepted: 0, slowestMs: 0, peakRssMb: 0 };

beforeAll(async () => {
  const corpus = await hostileCorpus({ namespace: 'prod', recipient: vectorRecipient('a'), marker: MARKER });
  const base = corpus.find((c) => c.name === 'merge-key');
  if (base === undefined) throw new Error('no merge-key case');
  const valid = base.text.replace(/^ {2}<<: \{scope: cluster\}\n/m, '');
  const secret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n  labels: {app: db}\ntype: Opaque\ndata:\n  a: ${Buffer.from(MARKER).toString('base64')}\nstringData:\n  b: ${MARKER}\n`;
  // the big cases cost seconds per parse; mutating them would spend the budget on a few inputs
  seeds = [valid, secret, JSON.stringify(parseDocuments(valid, 'v')[0]?.value), ...corpus.filter((c) => c.text.length < 20_000).map((c) => c.text)];
  sealedObject = parseDocuments(valid, 'v')[0]?.value;
  secretObject = parseDocuments(secret, 's')[0]?.value;
}, 60_000);

afterAll(() => {
  process.stderr.write(`fuzz (seed ${SEED}): ${stats.inputs} inputs in ${BUDGET_MS / 1000} s, ${stats.sealboxErrors} refused, ${stats.accepted} accepted, slowest call ${stats.slowestMs.toFixed(0)} ms, peak RSS ${stats.peakRssMb.toFixed(0)} MiB\n`);
});

const TOKENS = ['\n', ' ', ':', '- ', '[', ']', '{', '}', ',', '"', "'", '&a ', '*a', '!!binary ', '!!str ', '!tag ', '<<: ', '---\n', '...\n', '#', '|\n', '>\n', '? ', '%YAML 1.1\n', '\t', '\r\n', '\u0000', '\uFEFF', '\\u0000', 'sb1:', 'sb2:', '0123456789abcdef', '==', '/', '+', 'null', '~', '1e999', '-0', '0x1F', '__proto__', 'constructor', 'ä', '😀'];

type Mutation =
  | { op: 'flip'; at: number; token: string }
  | { op: 'insert'; at: number; token: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number; to: number }
  | { op: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), token: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 400 }), to: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const n = Math.max(text.length, 1);
  const at = m.at % n;
  switch (m.op) {
    case 'flip':
      return text.slice(0, at) + m.token + text.slice(at + 1);
    case 'insert':
      return text.slice(0, at) + m.token + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'duplicate': {
      const piece = text.slice(at, at + m.length);
      const to = m.to % n;
      return text.slice(0, to) + piece + text.slice(to);
    }
    case 'truncate':
      return text.slice(0, at);
  }
}

const mutatedText = (): fc.Arbitrary<string> =>
  fc.tuple(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 8 })).map(([i, ms]) => ms.reduce(mutate, seeds[i % seeds.length] ?? ''));

/** `doc` with up to four values replaced by anything, or removed. */
const mutatedObject = (doc: () => unknown): fc.Arbitrary<unknown> =>
  fc.array(fc.tuple(fc.nat(), fc.option(fc.anything({ maxDepth: 3 }), { freq: 3 })), { minLength: 1, maxLength: 4 }).map((edits) =>
    edits.reduce<unknown>((d, [i, v]) => {
      const paths = pathsOf(d);
      const path = paths[i % paths.length] ?? [];
      return withPath(d, path, v ?? DELETE);
    }, doc()));

/** Runs one input through `f`: only SealboxError may escape, without the plaintext; time and memory are recorded. */
async function expectOnlySealboxErrors(f: () => unknown): Promise<void> {
  const started = performance.now();
  try {
    await f();
    stats.accepted++;
  } catch (err) {
    if (!(err instanceof SealboxError)) throw err;
    if (err.message.includes(MARKER)) throw new Error(`a SealboxError carries the plaintext: ${err.message.slice(0, 200)}`);
    stats.sealboxErrors++;
  } finally {
    const ms = performance.now() - started;
    stats.inputs++;
    stats.slowestMs = Math.max(stats.slowestMs, ms);
    stats.peakRssMb = Math.max(stats.peakRssMb, process.memoryUsage().rss / 1024 / 1024);
  }
  expect(performance.now() - started).toBeLessThan(MAX_CALL_MS);
  expect(process.memoryUsage().rss / 1024 / 1024).toBeLessThan(MAX_RSS_MB);
}

function run<T>(arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>): Promise<void> {
  return fc.assert(fc.asyncProperty(arb, check), {
    seed: SEED,
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: BUDGET_MS / TARGETS,
    markInterruptAsFailure: false,
    endOnFailure: true,
  });
}

const identity = vectorIdentity('a');
const TEST_MS = BUDGET_MS / TARGETS + 120_000;

describe(`fuzzing the parsers for ${BUDGET_MS / 1000} s`, () => {
  it('parseDocuments only throws SealboxError on mutated YAML and JSON', async () => {
    await run(mutatedText(), (text) => expectOnlySealboxErrors(() => parseDocuments(text, 'fuzz')));
  }, TEST_MS);

  it('parseSealedSecret and parseSecret only throw SealboxError on mutated objects', async () => {
    await run(fc.tuple(mutatedObject(() => sealedObject), mutatedObject(() => secretObject)), async ([sealed, secret]) => {
      await expectOnlySealboxErrors(() => parseSealedSecret(sealed, 'fuzz'));
      await expectOnlySealboxErrors(() => parseSecret(secret, 'fuzz'));
    });
  }, TEST_MS);

  it('unsealing mutated files with the right key gives a Secret or a SealboxError without the plaintext', async () => {
    await run(mutatedText(), (text) => expectOnlySealboxErrors(async () => {
      const docs = parseDocuments(text, 'fuzz');
      return unsealDocuments(docs, 'fuzz', [identity]);
    }));
  }, TEST_MS);

  it('unsealing mutated objects with the right key gives a Secret or a SealboxError without the plaintext', async () => {
    await run(mutatedObject(() => sealedObject), (obj) => expectOnlySealboxErrors(async () => {
      const docs = parseDocuments(JSON.stringify(obj ?? null), 'fuzz');
      return unsealDocuments(docs, 'fuzz', [identity]);
    }));
  }, TEST_MS);
});
