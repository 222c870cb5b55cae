// Row 7: AWS KMS (moto), 200 files of one Secret (5 values) each.
//   unseal: `sealbox unseal -f FILE` vs `sops decrypt FILE`, once per file
//           (plus sealbox over all files as one stream, one process)
//   rotate: key A -> key B without touching values: `sealbox rotate --to-kms
//           aws:B --remove-recipient aws:A DIR` (one process) vs
//           `sops updatekeys -y FILE` per file with .sops.yaml naming B
// Both tools talk to the same moto server (AWS_ENDPOINT_URL_KMS).
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startMoto } from '../../test/peers/kms-servers.js';
import { secretYaml } from '../lib/fixtures.mjs';
import { measure, run } from '../lib/proc.mjs';

export async function benchKms(o) {
  const { root, peers, work, log } = o;
  const sealbox = join(root, 'dist/bundle/sealbox.js');
  const help = run(process.execPath, [sealbox, 'seal', '--help']);
  if (!help.includes('--kms')) return { pending: 'this build of sealbox has no `seal --kms` yet' };
  const dir = join(work, 'kms');
  mkdirSync(dir, { recursive: true });
  const moto = await startMoto({ stateDir: join(dir, 'moto-state') });
  try {
    const env = {
      ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_KMS: moto.endpoint, SOPS_DISABLE_VERSION_CHECK: '1', KUBECONFIG: join(dir, 'no-kubeconfig'),
    };
    const { KMSClient, CreateKeyCommand } = await import('@aws-sdk/client-kms');
    const kms = new KMSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const keyA = (await kms.send(new CreateKeyCommand({ Description: 'bench A' }))).KeyMetadata.Arn;
    const keyB = (await kms.send(new CreateKeyCommand({ Description: 'bench B' }))).KeyMetadata.Arn;
    kms.destroy();

    // plaintext inputs
    const plain = join(dir, 'plain');
    mkdirSync(plain, { recursive: true });
    const names = [];
    let stream = '';
    for (let i = 0; i < o.kmsFiles; i++) {
      const name = `secret-${String(i).padStart(4, '0')}.yaml`;
      const text = secretYaml(`team-${i % 20}`, `app-${i}`, 'kms');
      writeFileSync(join(plain, name), text);
      names.push(name);
      stream += `---\n${text}`;
    }
    // sealbox inputs: one seal process over the stream, split into one file per document
    const sbPristine = join(dir, 'sealbox-pristine');
    mkdirSync(sbPristine, { recursive: true });
    const sealed = parseAllDocuments(run(process.execPath, [sealbox, 'seal', '--kms', `aws:${keyA}`], { input: stream, env }));
    if (sealed.length !== names.length) throw new Error(`sealbox sealed ${sealed.length} documents, expected ${names.length}`);
    sealed.forEach((d, i) => writeFileSync(join(sbPristine, names[i]), String(d)));
    // sops inputs: the usual Kubernetes rule, only data/stringData encrypted
    const sopsPristine = join(dir, 'sops-pristine');
    mkdirSync(sopsPristine, { recursive: true });
    const rule = (arn) => `creation_rules:\n  - path_regex: '.*\\.yaml$'\n    kms: '${arn}'\n    encrypted_regex: '^(data|stringData)$'\n`;
    writeFileSync(join(sopsPristine, '.sops.yaml'), rule(keyA));
    run('bash', ['-c', 'cd "$2" && for f in "$1"/*.yaml; do "$3" encrypt --filename-override "${f##*/}" "$f" > "${f##*/}" || exit 1; done', 'bash', plain, sopsPristine, peers.sops], { env });

    const fresh = (from, name) => {
      const to = join(dir, name);
      rmSync(to, { recursive: true, force: true });
      cpSync(from, to, { recursive: true });
      return to;
    };
    const check = (m, what) => {
      if (m.code !== 0) throw new Error(`${what} failed (exit ${m.code}): ${m.stderr.slice(-1500)}`);
      return m;
    };
    const loop = (body) => `for f in "$1"/*.yaml; do ${body} || exit 1; done`;
    const ops = {
      sealboxUnsealPerFile: async () => check(await measure('bash', ['-c', loop('"$2" "$3" unseal -f "$f" > /dev/null'), 'bash', sbPristine, process.execPath, sealbox], { env }), 'sealbox unseal'),
      sopsDecryptPerFile: async () => check(await measure('bash', ['-c', loop('"$2" decrypt "$f" > /dev/null'), 'bash', sopsPristine, peers.sops], { env }), 'sops decrypt'),
      sealboxUnsealStream: async () => check(await measure('bash', ['-c', 'awk \'FNR==1{print "---"}{print}\' "$1"/*.yaml | "$2" "$3" unseal > /dev/null', 'bash', sbPristine, process.execPath, sealbox], { env }), 'sealbox unseal (stream)'),
      sealboxRotate: async () => {
        const d = fresh(sbPristine, 'sealbox-work');
        return check(await measure(process.execPath, [sealbox, 'rotate', '--to-kms', `aws:${keyB}`, '--remove-recipient', `aws:${keyA}`, d], { env }), 'sealbox rotate');
      },
      sopsUpdatekeys: async () => {
        const d = fresh(sopsPristine, 'sops-work');
        writeFileSync(join(d, '.sops.yaml'), rule(keyB));
        return check(await measure('bash', ['-c', `cd "$1" && ${loop('"$2" updatekeys -y "${f##*/}" 2> /dev/null')}`, 'bash', d, peers.sops], { env }), 'sops updatekeys');
      },
    };
    const results = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
    log(`row 7: ${o.kmsFiles} files, ${o.kmsWarmup} warm-up + ${o.kmsRuns} runs each`);
    for (let r = 0; r < o.kmsWarmup + o.kmsRuns; r++) {
      for (const [k, fn] of Object.entries(ops)) {
        const m = await fn();
        if (r >= o.kmsWarmup) results[k].push(m);
      }
      if (r === 0) verifyRotation(join(dir, 'sealbox-work'), join(dir, 'sops-work'), keyA, keyB);
    }
    return { results, keyA, keyB };
  } finally {
    await moto.stop();
  }
}

/** After a rotation, every file names key B and no longer key A. */
function verifyRotation(sbDir, sopsDir, keyA, keyB) {
  for (const d of [sbDir, sopsDir]) {
    for (const f of readdirSync(d).filter((x) => x.endsWith('.yaml'))) {
      const text = readFileSync(join(d, f), 'utf8');
      if (!text.includes(keyB) || text.includes(keyA)) throw new Error(`${join(d, f)}: not rotated from ${keyA} to ${keyB}`);
    }
  }
}
