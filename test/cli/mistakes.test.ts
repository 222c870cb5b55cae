import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureBuilt, keygen, sealbox, sealboxCommand, tempDir } from '../helpers/cli.js';

// The mistakes a new user makes (issue 12): each is refused with a clear
// error and the right exit code, and nothing is written.

const MARKER = 'plaintext-marker-5e1f';
const secret = (name: string, ns = 'prod'): string => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${ns}}\nstringData:\n  password: ${MARKER}-${name}\n`;
const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: prod}\ndata: {mode: fast}\n';
const BITNAMI = 'apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: prod}\nspec:\n  encryptedData: {password: AgBy3i4OJSWK+PiTySYZZA==}\n';

let dir: string;
let cleanup: () => void;
let a: { key: string; cert: string };
let b: { key: string; cert: string };
let sealed: string;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('mistakes'));
  a = keygen(dir, 'a');
  b = keygen(dir, 'b');
  sealed = join(dir, 'sealed.yaml');
  writeFileSync(sealed, sealbox(['seal', '--cert', a.cert], { input: secret('db') }).stdout);
}, 120_000);
afterAll(() => {
  cleanup();
});

/** A fresh folder holding `files`; returns its path. */
function work(files: Record<string, string> = {}): string {
  const w = join(dir, `w-${Math.random().toString(36).slice(2)}`);
  mkdirSync(w);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(w, name), text);
  return w;
}

/** Runs the built CLI with `args` in `cwd`; CERT, CERT_B and KEY stand for the test keys. */
function run(args: readonly string[], cwd: string, input = ''): ReturnType<typeof sealbox> {
  const map: Record<string, string> = { CERT: a.cert, CERT_B: b.cert, KEY: a.key };
  return sealbox(args.map((x) => map[x] ?? x), { cwd, input });
}

describe('sealbox keygen with one file for key and certificate', () => {
  it('refuses --key-out and --cert-out naming the same file, writing nothing', () => {
    const w = work();
    const r = run(['keygen', '--bits', '2048', '--key-out', 'k.pem', '--cert-out', './k.pem'], w);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: --key-out and --cert-out name the same file (k.pem)');
    expect(readdirSync(w)).toEqual([]);
  });

  it('refuses a certificate path that is a symbolic link to the key, with --force, leaving the key intact', () => {
    const w = work({ 'k.pem': 'existing key\n' });
    symlinkSync(join(w, 'k.pem'), join(w, 'link.pem'));
    const r = run(['keygen', '--bits', '2048', '--key-out', 'k.pem', '--cert-out', 'link.pem', '--force'], w);
    expect(r.status).toBe(2);
    expect(readFileSync(join(w, 'k.pem'), 'utf8')).toBe('existing key\n');
  });
});

describe('sealbox seal with ambiguous input', () => {
  it.each([
    { what: '--from-literal together with -f', args: ['seal', '--cert', 'CERT', '--name', 'x', '--namespace', 'prod', '--from-literal', 'a=b', '-f', 'secret.yaml'], code: 2, message: '--from-literal/--from-file build a Secret from the command line, and -f secret.yaml reads one' },
    { what: 'one key given twice by --from-literal', args: ['seal', '--cert', 'CERT', '--name', 'x', '--namespace', 'prod', '--from-literal', 'a=b', '--from-literal', 'a=c'], code: 2, message: 'key "a" is given twice' },
    { what: 'one key given by --from-literal and --from-file', args: ['seal', '--cert', 'CERT', '--name', 'x', '--namespace', 'prod', '--from-literal', 'secret.yaml=b', '--from-file', 'secret.yaml'], code: 2, message: 'key "secret.yaml" is given twice' },
    { what: '-f given twice', args: ['seal', '--cert', 'CERT', '-f', 'secret.yaml', '-f', 'two.yaml'], code: 2, message: 'given more than once' },
    { what: '--name applied to two Secrets', args: ['seal', '--cert', 'CERT', '-f', 'two.yaml', '--name', 'x'], code: EXIT_CODES.INPUT, message: 'name "x" would give its 2 Secrets one name; drop --name, or seal each Secret on its own' },
    { what: 'two Secrets with one namespace and name', args: ['seal', '--cert', 'CERT', '-f', 'same.yaml'], code: EXIT_CODES.INPUT, message: 'same.yaml document 2 ("prod/db") has the same namespace and name as same.yaml document 1 ("prod/db")' },
    { what: 'an invalid --name', args: ['seal', '--cert', 'CERT', '--namespace', 'prod', '--name', 'X_bad', '--from-literal', 'a=b'], code: EXIT_CODES.INPUT, message: '--name "X_bad" is not a valid Secret name: use a DNS-1123 subdomain' },
    { what: 'an invalid --name to rename', args: ['seal', '--cert', 'CERT', '--scope', 'namespace', '--name', 'X_bad', '-f', 'secret.yaml'], code: EXIT_CODES.INPUT, message: '--name "X_bad" is not a valid Secret name' },
    { what: 'an input with a ConfigMap alone', args: ['seal', '--cert', 'CERT', '-f', 'configmap.yaml'], code: EXIT_CODES.INPUT, message: 'configmap.yaml has no Secret to seal (it holds ConfigMap "settings")' },
    { what: 'a folder without any Secret', args: ['seal', '--cert', 'CERT', '-f', 'only-configmaps'], code: EXIT_CODES.INPUT, message: 'only-configmaps has no Secret to seal' },
    { what: '--from-file of a folder', args: ['seal', '--cert', 'CERT', '--name', 'x', '--namespace', 'prod', '--from-file', 'only-configmaps'], code: EXIT_CODES.IO, message: 'cannot read only-configmaps: it is a folder' },
  ])('refuses $what with exit code $code, writing nothing', ({ args, code, message }) => {
    const w = work({ 'secret.yaml': secret('db'), 'two.yaml': `${secret('db')}---\n${secret('api')}`, 'same.yaml': `${secret('db')}---\n${secret('db')}`, 'configmap.yaml': CONFIGMAP });
    mkdirSync(join(w, 'only-configmaps'));
    writeFileSync(join(w, 'only-configmaps', 'cm.yaml'), CONFIGMAP);
    const before = readdirSync(w);
    const r = run([...args, '-o', 'out.yaml'], w);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(MARKER);
    expect(r.stdout).toBe('');
    expect(readdirSync(w)).toEqual(before);
  });

  it('still passes other documents through next to a Secret', () => {
    const r = run(['seal', '--cert', 'CERT'], work(), `${CONFIGMAP}---\n${secret('db')}`);
    expect(r.status).toBe(0);
    expect(parseAllDocuments(r.stdout).map((d) => (d.toJS() as { kind: string }).kind)).toEqual(['ConfigMap', 'SealedSecret']);
  });
});

describe('sealbox seal --merge-into that would mislead', () => {
  it.each([
    { what: 'a --scope that differs from the file\'s', args: ['--cert', 'CERT', '--scope', 'namespace'], message: 'is sealed with scope "strict", not "namespace"' },
    { what: 'a certificate that is not among its recipients', args: ['--cert', 'CERT_B'], message: 'which is not one of its recipients (cert:' },
    { what: 'a new recipient next to the old one', args: ['--cert', 'CERT', '--cert', 'CERT_B'], message: 'which is not one of its recipients' },
  ])('refuses $what, leaving the file byte-identical', ({ args, message }) => {
    const w = work({ 'sealed.yaml': readFileSync(sealed, 'utf8') });
    const r = run(['seal', ...args, '--merge-into', 'sealed.yaml', '--from-literal', `token=${MARKER}`], w);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(MARKER);
    expect(readFileSync(join(w, 'sealed.yaml'), 'utf8')).toBe(readFileSync(sealed, 'utf8'));
  });

  it('refuses an input holding one Secret twice, leaving the file byte-identical', () => {
    const w = work({ 'sealed.yaml': readFileSync(sealed, 'utf8'), 'twice.yaml': `${secret('db')}---\n${secret('db')}` });
    const r = run(['seal', '--cert', 'CERT', '--merge-into', 'sealed.yaml', '-f', 'twice.yaml'], w);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('twice.yaml holds two Secrets named "prod/db"');
    expect(readFileSync(join(w, 'sealed.yaml'), 'utf8')).toBe(readFileSync(sealed, 'utf8'));
  });

  it('refuses a value the file lacks a recipient for', () => {
    const w = work({ 'two.yaml': run(['seal', '--cert', 'CERT', '--cert', 'CERT_B'], dir, secret('db')).stdout });
    const r = run(['seal', '--cert', 'CERT', '--merge-into', 'two.yaml', '--from-literal', 'token=x'], w);
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('but the new values would not be: merge with all of its recipients');
  });

  it('merges with the file\'s own recipient and scope', () => {
    const w = work({ 'sealed.yaml': readFileSync(sealed, 'utf8') });
    expect(run(['seal', '--cert', 'CERT', '--scope', 'strict', '--merge-into', 'sealed.yaml', '--from-literal', 'token=x'], w).status).toBe(0);
  });
});

describe('sealbox unseal of something it cannot unseal', () => {
  it.each([
    { what: 'a plain Secret', input: secret('db'), code: EXIT_CODES.INPUT, message: 'holds a plain Secret, not a sealed one' },
    { what: 'an empty file', input: '', code: EXIT_CODES.INPUT, message: 'in.yaml is empty: nothing to unseal' },
    { what: 'a ConfigMap', input: CONFIGMAP, code: EXIT_CODES.INPUT, message: 'has no sealed secret to unseal' },
    { what: 'a Bitnami SealedSecret sealed for another key', input: BITNAMI, code: EXIT_CODES.NO_KEY, message: 'no key could decrypt secret (password)' },
    { what: 'a Bitnami SealedSecret of another version', input: BITNAMI.replace('v1alpha1', 'v1beta9'), code: EXIT_CODES.INPUT, message: 'is a Bitnami Sealed Secrets resource (bitnami.com/v1beta9), not a sealbox one, in a version sealbox does not read' },
  ])('refuses $what with exit code $code and no output', ({ input, code, message }) => {
    const w = work({ 'in.yaml': input });
    const r = run(['unseal', '--key', 'KEY', '-f', 'in.yaml'], w);
    expect(r.status).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(MARKER);
    expect(r.stdout).toBe('');
  });

  it('refuses -f given twice instead of reading only the last file', () => {
    const r = run(['unseal', '--key', 'KEY', '-f', sealed, '-f', sealed], work());
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("option '-f, --file <file>' argument");
    expect(r.stderr).toContain('given more than once; unseal reads one file');
  });

  it('says a folder is a folder', () => {
    const r = run(['unseal', '--key', 'KEY', '-f', '.'], work());
    expect(r.status).toBe(EXIT_CODES.IO);
    expect(r.stderr).toBe('error: cannot read .: it is a folder; give a file\n');
  });
});

describe('certificate bundles', () => {
  let bundle: string;
  const fingerprint = (cert: string): string => /fingerprint: ([0-9a-f]{64})/.exec(sealbox(['cert', 'inspect', cert]).stdout)?.[1] ?? 'none';

  beforeAll(() => {
    bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(a.cert, 'utf8') + readFileSync(b.cert, 'utf8'));
  });

  it('cert inspect prints every certificate of a bundle', () => {
    const r = sealbox(['cert', 'inspect', bundle]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('holds 2 certificates');
    expect([...r.stdout.matchAll(/fingerprint: ([0-9a-f]{64})/g)].map((m) => m[1])).toEqual([fingerprint(a.cert), fingerprint(b.cert)]);
    const json = JSON.parse(sealbox(['cert', 'inspect', bundle, '--output', 'json']).stdout) as { fingerprint: string }[];
    expect(json.map((c) => c.fingerprint)).toEqual([fingerprint(a.cert), fingerprint(b.cert)]);
  });

  it('seal --cert refuses a bundle, naming its fingerprints', () => {
    const r = sealbox(['seal', '--cert', bundle], { input: secret('db') });
    expect(r.status).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain(`holds 2 certificates (${fingerprint(a.cert).slice(0, 12)}, ${fingerprint(b.cert).slice(0, 12)})`);
    expect(r.stdout).toBe('');
  });
});

describe('messages', () => {
  it('says no kubeconfig was found, and what to pass instead', () => {
    const w = work({ 'secret.yaml': secret('db') });
    const r = sealbox(['seal', '-f', 'secret.yaml'], { cwd: w, env: { HOME: w, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: undefined } });
    expect(r.status).toBe(EXIT_CODES.KUBE);
    expect(r.stderr).toBe('error: no kubeconfig found ($KUBECONFIG, ~/.kube/config): pass --kubeconfig FILE, or --controller-url URL to reach the controller directly; to seal without a cluster, pass --cert CERT\n');
  });
});

describe('rotate without --key', () => {
  it('says no key was given, and names no KMS when the file has no KMS recipient', () => {
    const w = work({ 'sealed.yaml': readFileSync(sealed, 'utf8') });
    const r = run(['rotate', '--to-cert', 'CERT_B', 'sealed.yaml'], w);
    expect(r.status).toBe(EXIT_CODES.NO_KEY);
    expect(r.stderr).toContain('no key was given to unwrap data-key group');
    expect(r.stderr).toContain('pass --key with the private key of one of them');
    expect(r.stderr).not.toContain('kms:');
    expect(readFileSync(join(w, 'sealed.yaml'), 'utf8')).toBe(readFileSync(sealed, 'utf8'));
  });
});

describe('a closed standard output', () => {
  it.each([
    { what: 'seal -f FOLDER', args: ['seal', '--cert', 'CERT', '-f', 'secrets'] },
    { what: 'cert inspect', args: ['cert', 'inspect', 'CERT'] },
  ])('ends $what quietly with exit code 141 when the reader has gone', ({ args }) => {
    const w = work();
    mkdirSync(join(w, 'secrets'));
    for (let i = 0; i < 20; i++) writeFileSync(join(w, 'secrets', `s${i}.yaml`), secret(`s${i}`));
    const map: Record<string, string> = { CERT: a.cert };
    const cmd = [sealboxCommand(), ...args.map((x) => `'${map[x] ?? x}'`)].join(' ');
    // `true` exits at once: every write meets a closed pipe (EPIPE).
    const r = spawnSync('bash', ['-c', `${cmd} 2>err.txt | true; echo "\${PIPESTATUS[0]}"`], { cwd: w, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('141');
    expect(readFileSync(join(w, 'err.txt'), 'utf8')).toBe('');
  });
});

describe('standard input on a terminal', () => {
  it('prints a hint on stderr instead of waiting silently', () => {
    const w = work();
    const cmd = `${sealboxCommand()} seal --cert '${a.cert}'`;
    // script gives the command a terminal; its own stdin ends at once, so the terminal sends end-of-file.
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: w, input: '', encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toContain('(tty detected: expecting a YAML or JSON Kubernetes manifest on stdin');
  });
});
