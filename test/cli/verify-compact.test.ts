import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMPACT_HINT_GROUPS } from '../../src/format/verify.js';
import { ensureBuilt, keygen, sealbox, tempDir } from '../helpers/cli.js';

// `verify` suggests `reseal --compact` for a resource whose --merge-into
// history left more than COMPACT_HINT_GROUPS data-key groups (issue 12).

const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {user: u}\n';

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('verify-compact'));
  a = keygen(dir, 'a');
}, 120_000);
afterAll(() => {
  cleanup();
});

/** A sealed file with `groups` data-key groups: one seal, then a --merge-into per further group. */
function withGroups(name: string, groups: number): string {
  const file = join(dir, name);
  writeFileSync(file, sealbox(['seal', '--cert', a.cert], { input: SECRET }).stdout);
  for (let i = 1; i < groups; i++) {
    const r = sealbox(['seal', '--cert', a.cert, '--merge-into', file, '--name', 'db', '--namespace', 'prod', '--from-literal', `k${i}=v${i}`]);
    expect(r.status, r.stderr).toBe(0);
  }
  expect((parse(readFileSync(file, 'utf8')) as { spec: { dataKeys: unknown[] } }).spec.dataKeys).toHaveLength(groups);
  return file;
}

describe('sealbox verify and data-key groups', () => {
  it(`says nothing of compaction for ${COMPACT_HINT_GROUPS} groups`, () => {
    withGroups('few.yaml', COMPACT_HINT_GROUPS);
    const text = sealbox(['verify', 'few.yaml'], { cwd: dir });
    expect(text.status).toBe(0);
    expect(text.stderr).toBe('ok: 1 file(s) checked, no problems\n');
    const json = sealbox(['verify', 'few.yaml', '--output', 'json'], { cwd: dir });
    expect((JSON.parse(json.stdout) as { hints: unknown[] }).hints).toEqual([]);
  });

  it(`suggests "sealbox reseal --compact" past ${COMPACT_HINT_GROUPS} groups, naming file and resource, in text and JSON, and still exits 0`, () => {
    withGroups('many.yaml', COMPACT_HINT_GROUPS + 1);
    const text = sealbox(['verify', 'many.yaml'], { cwd: dir });
    expect(text.status).toBe(0);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain(`hint: many.yaml:1: sealed secret "prod/db" has ${COMPACT_HINT_GROUPS + 1} data-key groups (more than ${COMPACT_HINT_GROUPS})`);
    expect(text.stderr).toContain('"sealbox reseal --compact many.yaml"');
    expect(text.stderr).toContain('ok: 1 file(s) checked, no problems\n');

    const json = sealbox(['verify', 'many.yaml', '--output', 'json'], { cwd: dir });
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as { findings: unknown[]; hints: { path: string; line: number; document: number; message: string }[] };
    expect(report.findings).toEqual([]);
    expect(report.hints).toHaveLength(1);
    expect(report.hints[0]).toMatchObject({ path: 'many.yaml', line: 1, document: 1 });
    expect(report.hints[0]?.message).toContain('sealbox reseal --compact many.yaml');
  });
});
