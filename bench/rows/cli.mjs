// Rows 1–2: sealing offline with a certificate file.
//   1. one Secret with 5 values: `sealbox seal` vs `kubeseal --cert`, whole
//      process: wall time and peak RSS; plus `node -e 0` (the runtime's own
//      start-up, which no sealbox change can remove) as a reference line, and
//      the same seal by the single executable (dist/binary/sealbox, `npm run
//      build:binary`: no Node installed, V8 startup snapshot); all without
//      NODE_EXTRA_CA_CERTS (see below), plus CPU time (user + system)
//   2. 1,000 Secret files: `sealbox seal -f DIR -o OUTDIR` (one process) vs
//      kubeseal once per file (what users script), plus both tools over the
//      same files as one multi-document stream in one process (kubeseal
//      reads multi-document input too) for an apples-to-apples line
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretYaml } from '../lib/fixtures.mjs';
import { measure, run } from '../lib/proc.mjs';

/** Runs `fns` interleaved: `warmup` rounds unrecorded, then `runs` recorded rounds. */
async function interleaved(fns, warmup, runs) {
  const out = fns.map(() => []);
  for (let r = 0; r < warmup + runs; r++) {
    for (let i = 0; i < fns.length; i++) {
      const m = await fns[i]();
      if (m.code !== 0) throw new Error(`benchmark command failed (exit ${m.code}): ${m.stderr.slice(-1500)}`);
      if (r >= warmup) out[i].push(m);
    }
  }
  return out;
}

export async function benchCli(o) {
  const { root, peers, work, log } = o;
  const dir = join(work, 'cli');
  mkdirSync(dir, { recursive: true });
  const sealbox = join(root, 'dist/bundle/sealbox.js');
  const cert = join(dir, 'cert.pem');
  // one RSA-4096 certificate for both tools (kubeseal --cert takes any PEM certificate with an RSA key)
  run(process.execPath, [sealbox, 'keygen', '--key-out', join(dir, 'key.pem'), '--cert-out', cert, '--bits', '4096', '--force']);
  // NODE_EXTRA_CA_CERTS is left out: Node 20 parses its bundled root
  // certificates and the named file at every start when it is set (~65 CPU ms
  // for a system bundle; Node 24 waits until a TLS connection needs them), and
  // kubeseal reads no CA file offline. Row 1 adds a line with it set when the
  // bench's own environment sets it (docs/BENCHMARKS.md, the single executable).
  const { NODE_EXTRA_CA_CERTS: extraCa, ...userEnv } = process.env;
  const env = { ...userEnv, KUBECONFIG: join(dir, 'no-kubeconfig') };
  const results = {};

  if (o.rows.has(1)) {
    const input = secretYaml('team-a', 'db-credentials', 'cli');
    writeFileSync(join(dir, 'one.yaml'), input);
    log(`row 1: one Secret, ${o.cliWarmup} warm-up + ${o.cliRuns} runs each`);
    const binary = join(root, 'dist/binary/sealbox');
    const withBinary = existsSync(binary);
    if (!withBinary) log('row 1: no dist/binary/sealbox (npm run build:binary), so no line for the single executable');
    const withCa = withBinary && extraCa !== undefined && extraCa !== '';
    const caEnv = { ...env, NODE_EXTRA_CA_CERTS: extraCa };
    const [sb, ks, bin, binCa] = await interleaved([
      () => measure(process.execPath, [sealbox, 'seal', '--cert', cert], { input, env, stdoutFile: join(dir, 'one.sealbox.yaml') }),
      () => measure(peers.kubeseal, ['--cert', cert, '--format', 'yaml'], { input, env, stdoutFile: join(dir, 'one.kubeseal.yaml') }),
      ...(withBinary ? [() => measure(binary, ['seal', '--cert', cert], { input, env, stdoutFile: join(dir, 'one.binary.yaml') })] : []),
      ...(withCa ? [() => measure(binary, ['seal', '--cert', cert], { input, env: caEnv })] : []),
    ], o.cliWarmup, o.cliRuns);
    results.one = { sealbox: sb, kubeseal: ks, binary: bin, binaryExtraCa: binCa };
    const [nodeOnly] = await interleaved([() => measure(process.execPath, ['-e', '0'], { env })], o.cliWarmup, o.cliRuns);
    results.one.nodeStartup = nodeOnly;
    if (withBinary) [results.one.binaryStartup] = await interleaved([() => measure(binary, ['--version'], { env })], o.cliWarmup, o.cliRuns);

  }

  if (o.rows.has(2)) {
    const files = join(dir, 'bulk');
    const outs = join(dir, 'bulk-out');
    mkdirSync(files, { recursive: true });
    mkdirSync(outs, { recursive: true });
    for (let i = 0; i < o.bulkFiles; i++) {
      writeFileSync(join(files, `secret-${String(i).padStart(4, '0')}.yaml`), secretYaml(`team-${i % 20}`, `app-${i}`, 'bulk'));
    }
    // the files as one stream: awk prints "---" before each file (one process, ~10 ms)
    const stream = 'awk \'FNR==1{print "---"}{print}\' "$1"/*.yaml';
    const sbDir = join(dir, 'bulk-sealbox');
    const sbStream = `${stream} | "$2" "$3" seal --cert "$4" > "$5"`;
    const ksLoop = 'for f in "$1"/*.yaml; do "$2" --cert "$3" --format yaml < "$f" > "$4/${f##*/}" || exit 1; done';
    const ksStream = `${stream} | "$2" --cert "$3" --format yaml > "$4"`;
    log(`row 2: ${o.bulkFiles} files, ${o.bulkWarmup} warm-up + ${o.bulkRuns} runs each`);
    const [sbd, ksl, sbs, kss] = await interleaved([
      () => measure(process.execPath, [sealbox, 'seal', '--cert', cert, '-f', files, '-o', sbDir], { env }),
      () => measure('bash', ['-c', ksLoop, 'bash', files, peers.kubeseal, cert, outs], { env }),
      () => measure('bash', ['-c', sbStream, 'bash', files, process.execPath, sealbox, cert, join(dir, 'bulk.sealbox.yaml')], { env }),
      () => measure('bash', ['-c', ksStream, 'bash', files, peers.kubeseal, cert, join(dir, 'bulk.kubeseal.yaml')], { env }),
    ], o.bulkWarmup, o.bulkRuns);
    const written = readdirSync(sbDir).length;
    if (written !== o.bulkFiles) throw new Error(`sealbox seal -f DIR wrote ${written} files, expected ${o.bulkFiles}`);
    results.bulk = { sealboxDir: sbd, kubesealPerFile: ksl, sealboxStream: sbs, kubesealStream: kss };
  }
  return results;
}
