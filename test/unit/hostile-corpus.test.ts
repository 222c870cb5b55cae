// The hostile corpus (test/chaos/corpus.ts) through the library: parse, then
// unseal with the right key. Every case fails with its own code and a message
// naming the problem, quickly, and no message carries the sealed plaintext.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SealboxError } from '../../src/errors.js';
import { unsealDocuments } from '../../src/format/documents.js';
import { parseDocuments } from '../../src/format/yaml.js';
import type { HostileCase } from '../chaos/corpus.js';
import { hostileCorpus } from '../chaos/corpus.js';
import { vectorIdentity, vectorRecipient } from '../helpers/keys.js';

const MARKER = `hostile-${randomBytes(8).toString('hex')}`;
/**
 * CPU time (user + system of this process), not wall time: the bound must hold
 * on a 2-core machine that other jobs load to 25, where a case's wall time
 * triples. Generous; an unguarded bomb takes minutes of CPU or exhausts memory.
 */
const MAX_CPU_MS_PER_CASE = 5000;
let corpus: HostileCase[] = [];

beforeAll(async () => {
  corpus = await hostileCorpus({ namespace: 'prod', recipient: vectorRecipient('a'), marker: MARKER });
}, 60_000);

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
}

async function failure(c: HostileCase): Promise<{ err: unknown; ms: number }> {
  const started = process.cpuUsage();
  try {
    await unsealDocuments(parseDocuments(c.text, `${c.name}.yaml`), `${c.name}.yaml`, [vectorIdentity('a')]);
  } catch (err) {
    return { err, ms: cpuMsSince(started) };
  }
  return { err: undefined, ms: cpuMsSince(started) };
}

describe('the hostile corpus through the library', () => {
  it('has a case for every kind of hostile input the issue names, each with a distinct name', () => {
    const names = corpus.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['cut-value', 'oversized', 'v2', 'dup-yaml', 'dup-json', 'b64-alphabet', 'laughs', 'deep-100k', 'recipients-10k']) expect(names).toContain(n);
  });

  it('refuses every case with its code and a message naming the problem, within the time bound, without the plaintext', async () => {
    const report: string[] = [];
    for (const c of corpus) {
      const { err, ms } = await failure(c);
      const got = err instanceof SealboxError ? `${err.code}: ${err.message.slice(0, 200)}` : `not a SealboxError: ${String(err)}`;
      const ok = err instanceof SealboxError && err.code === c.code && err.message.includes(c.message) && !err.message.includes(MARKER) && ms < MAX_CPU_MS_PER_CASE;
      if (!ok) report.push(`${c.name} (${c.what}): want ${c.code} "${c.message}", got ${got} in ${ms.toFixed(0)} ms of CPU`);
    }
    expect(report).toEqual([]);
  }, 120_000);

  it('unseals the untouched resource the cases are made from, so each refusal comes from its edit', async () => {
    const [good] = await hostileCorpus({ namespace: 'prod', recipient: vectorRecipient('a'), marker: MARKER }).then((cs) => cs.filter((c) => c.name === 'merge-key'));
    if (good === undefined) throw new Error('no merge-key case');
    const text = good.text.replace(/^ {2}<<: \{scope: cluster\}\n/m, '');
    const [secret] = await unsealDocuments(parseDocuments(text, 'good.yaml'), 'good.yaml', [vectorIdentity('a')]);
    expect(secret).toMatchObject({ kind: 'Secret', data: { password: Buffer.from(`${MARKER}-password`).toString('base64') } });
  });
});
