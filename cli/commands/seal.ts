import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { isNamespaceName, isObjectName, isScope } from '../../src/crypto/binding.js';
import type { KeyWrapper, Scope } from '../../src/crypto/types.js';
import { SealboxError } from '../../src/errors.js';
import { PlaintextIndex, checkNoPlaintext, checkNoPlaintextDocuments, plaintextValues } from '../../src/format/cleartext.js';
import { sealDocuments, summarizeInput } from '../../src/format/documents.js';
import { mergeSecretsInto } from '../../src/format/merge.js';
import type { SecretData } from '../../src/format/secret.js';
import type { OutputFormat, SourceDocument } from '../../src/format/yaml.js';
import { parseDocuments, stringifyDocuments } from '../../src/format/yaml.js';
import { readInput, readText, writeFileAtomic, writeOutput } from '../io.js';
import { walkManifests } from '../walk.js';
import { forEachLimit } from '../pool.js';
import { collect, once, usageError } from '../options.js';
import { certWrappers } from '../recipients.js';
import { addClusterOptions, fetchCertificates } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { CertRecipient } from '../../src/keys/cert.js';
import { CONFIG_FILE, checkRuleTransport, describeRule, findConfig, ruleFor, ruleNotice } from '../config.js';
import { kmsWrappers, recipientWrappers } from '../kms.js';

interface SealFlags extends ClusterFlags {
  file?: string;
  cert: string[];
  kms: string[];
  scope?: string;
  output?: string;
  format: string;
  mergeInto?: string;
  name?: string;
  namespace?: string;
  type: string;
  fromLiteral: string[];
  fromFile: string[];
  insecureHttp?: boolean;
}

/** Registers `sealbox seal`. */
export function registerSeal(program: Command): void {
  const cmd = program
    .command('seal')
    .description('seal Secret manifests into SealedSecrets that are safe to commit')
    .option('-f, --file <file>', 'Secret manifest(s), YAML or JSON, multi-document; - for stdin; a folder seals every .yaml/.yml/.json file below it', once('seal reads one file or folder'), '-')
    .option('--cert <cert>', 'cluster certificate (file or http(s) URL); repeat for several clusters; default: .sealbox.yaml, else fetched from the cluster', collect, [])
    .option('--kms <spec>', 'KMS key: aws:KEY_ARN_OR_ALIAS or azure:https://VAULT/keys/NAME[/VERSION]; repeatable, mixable with --cert', collect, [])
    .option('--scope <scope>', 'strict | namespace | cluster (default: .sealbox.yaml rule, else strict)', once('pass one scope'))
    .option('-o, --output <file>', 'write here instead of stdout (atomically); with a folder -f, a folder that mirrors it file by file', once('pass one output'))
    .option('--format <format>', 'yaml | json', 'yaml')
    .option('--merge-into <sealed>', 'add or replace values in this sealed file, in place, without decrypt rights', once('merge into one file at a time'))
    .option('--name <name>', 'Secret name (with --from-literal/--from-file, or to rename)', once('pass one name'))
    .option('--namespace <ns>', 'Secret namespace when the manifest has none', once('pass one namespace'))
    .option('--type <type>', 'Secret type with --from-literal/--from-file', 'Opaque')
    .option('--from-literal <key=value>', 'a value given on the command line; repeatable', collect, [])
    .option('--from-file <[key=]path>', 'a value read from a file; repeatable', collect, [])
    .option('--insecure-http', 'allow a .sealbox.yaml rule to fetch a certificate over plain http (cert:http://…)');
  addClusterOptions(cmd).action(async (flags: SealFlags, self: Command) => {
      const format = parseFormat(flags.format);
      const literal = flags.fromLiteral.length > 0 || flags.fromFile.length > 0;
      checkFlags(flags, self, literal);
      if (flags.file !== undefined && flags.file !== '-' && !literal && (await stat(flags.file).catch(() => undefined))?.isDirectory() === true) {
        await sealFolder(flags, flags.file, format);
        return;
      }
      const { scope, wrappers } = await resolveRecipients(flags);
      if (flags.mergeInto !== undefined) {
        const secrets = literal ? [await secretFromFlags(flags, flags.name ?? '')] : await secretsFromFile(flags.file ?? '-');
        const target = flags.mergeInto;
        const text = await readText(target);
        const out = await mergeSecretsInto(text, target, secrets, {
          wrappers,
          ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
          ...(flags.scope === undefined ? {} : { scope: scope }),
        });
        checkNoPlaintext(out, flags.output ?? target, plaintextValues(secrets));
        await writeOutput(flags.output ?? target, out);
        return;
      }
      let docs: SourceDocument[];
      let source: string;
      if (literal) {
        const secret = await secretFromFlags(flags, flags.name ?? '');
        docs = parseDocuments(JSON.stringify(literalManifest(secret)), 'command line');
        source = 'command line';
      } else {
        source = flags.file === '-' || flags.file === undefined ? 'standard input' : flags.file;
        docs = parseDocuments(await readText(flags.file ?? '-'), source);
      }
      if (docs.length === 0) throw new SealboxError('INPUT', `${source}: no documents to seal`);
      const seen: SecretData[] = [];
      const out = await sealDocuments(docs, source, {
        scope,
        wrappers,
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
        ...(flags.name === undefined || literal ? {} : { name: flags.name }),
        seen: (s) => seen.push(s),
      });
      // After sealing, so that a Secret nested in another object is named as such.
      requireSecret(summarizeInput(docs), source);
      const text = stringifyDocuments(out, format);
      checkNoPlaintext(text, flags.output === undefined || flags.output === '-' ? 'standard output' : flags.output, plaintextValues(seen));
      await writeOutput(flags.output, text);
    });
}

/**
 * `seal -f FOLDER`: seals every manifest file below the folder in one
 * process. With `-o OUT` each file is written to the same relative path
 * under OUT (extension following --format), otherwise all documents go to
 * standard output as one stream. Every file is sealed before anything is
 * written, so a bad file leaves no output at all; each output file is
 * written atomically. Recipients come from --cert/--kms, else from the
 * `.sealbox.yaml` rule matching each output (or input) file.
 */
async function sealFolder(flags: SealFlags, dir: string, format: OutputFormat): Promise<void> {
  if (flags.mergeInto !== undefined) throw new SealboxError('INPUT', `--merge-into takes one sealed file; -f ${dir} is a folder`);
  if (flags.name !== undefined) throw new SealboxError('INPUT', `--name renames one Secret; -f ${dir} is a folder`);
  const outDir = flags.output === undefined || flags.output === '-' ? undefined : flags.output;
  if (outDir !== undefined) {
    const rel = relative(resolve(dir), resolve(outDir));
    if (rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep))) {
      throw new SealboxError('INPUT', `-o ${outDir} is inside the folder being sealed (${dir}); write the sealed files to a folder outside it`);
    }
    const st = await stat(outDir).catch(() => undefined);
    if (st !== undefined && !st.isDirectory()) throw new SealboxError('INPUT', `-o ${outDir}: with a folder -f, -o must be a folder (it is created when missing)`);
  }
  const files: string[] = [];
  for await (const f of walkManifests(dir)) files.push(f);
  if (files.length === 0) throw new SealboxError('INPUT', `${dir}: no .yaml, .yml or .json files to seal`);

  const recipients = recipientCache(flags);
  const outputs: { path: string; docs: unknown[] }[] = [];
  let secrets = 0;
  const seen: SecretData[] = [];
  for (const file of files) {
    const docs = parseDocuments(await readText(file), file);
    if (docs.length === 0) continue;
    const found = summarizeInput(docs);
    secrets += found.secrets + found.sealed;
    const path = outDir === undefined ? undefined : outputPath(outDir, relative(dir, file), format);
    const { scope, wrappers } = await recipients(path ?? file);
    const sealed = await sealDocuments(docs, file, {
      scope,
      wrappers,
      ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
      seen: (s) => seen.push(s),
    });
    outputs.push({ path: path ?? file, docs: sealed });
  }
  if (secrets === 0) requireSecret({ secrets, sealed: 0, others: [] }, dir);
  // Every output is checked for every value sealed, before anything is written.
  const values = new PlaintextIndex(plaintextValues(seen));
  if (outDir === undefined) {
    const docs = outputs.flatMap((o) => o.docs);
    checkNoPlaintextDocuments(docs, 'standard output', values);
    await writeOutput(undefined, stringifyDocuments(docs, format));
    return;
  }
  const texts = outputs.map((o) => {
    // Output written from scratch: the documents are checked, not their text parsed again.
    checkNoPlaintextDocuments(o.docs, o.path, values);
    return { path: o.path, text: stringifyDocuments(o.docs, format) };
  });
  for (const d of new Set(outputs.map((o) => dirname(o.path)))) {
    await mkdir(d, { recursive: true }).catch((cause: unknown) => {
      throw new SealboxError('IO', `cannot create folder ${d}`, { cause });
    });
  }
  // Each file is written atomically (temporary file, fsync, rename); several
  // at a time, so the file system can batch the flushes.
  await forEachLimit(texts, 16, (o) => writeFileAtomic(o.path, o.text));
}

/** `rel` under `outDir`, its extension following the output format. */
function outputPath(outDir: string, rel: string, format: OutputFormat): string {
  const ext = extname(rel);
  const wanted = format === 'json' ? '.json' : ext === '.json' ? '.yaml' : ext;
  return join(outDir, rel.slice(0, rel.length - ext.length) + wanted);
}

/**
 * Recipients per target file for folder sealing: flags and the cluster's
 * certificate are resolved once; `.sealbox.yaml` rules once per rule, the
 * nearest config once per folder.
 */
function recipientCache(flags: SealFlags): (target: string) => Promise<{ scope: Scope; wrappers: KeyWrapper[] }> {
  const byKey = new Map<string, Promise<{ scope: Scope; wrappers: KeyWrapper[] }>>();
  const configs = new Map<string, ReturnType<typeof findConfig>>();
  return async (target) => {
    let key = 'flags';
    if (flags.cert.length === 0 && flags.kms.length === 0) {
      const dir = dirname(resolve(target));
      let found = configs.get(dir);
      if (found === undefined) {
        found = findConfig(dir);
        configs.set(dir, found);
      }
      const config = await found;
      const rule = config === undefined ? undefined : ruleFor(config, target);
      key = config === undefined ? 'cluster' : rule === undefined ? `none:${target}` : `${config.file}#${rule.index}`;
    }
    let r = byKey.get(key);
    if (r === undefined) {
      r = resolveRecipients(flags, target);
      byKey.set(key, r);
    }
    return r;
  };
}

/**
 * Refuses flags that contradict each other, or name no valid Secret: a
 * contradiction is a usage error (exit 2), an invalid name an INPUT error.
 */
function checkFlags(flags: SealFlags, cmd: Command, literal: boolean): void {
  if (literal && cmd.getOptionValueSource('file') === 'cli') {
    usageError(cmd, `--from-literal/--from-file build a Secret from the command line, and -f ${flags.file ?? '-'} reads one from a file: pass one or the other`);
  }
  // As kubectl: a key given twice is refused, not silently the last one.
  const keyOf = (spec: string, file: boolean): string => {
    const eq = spec.indexOf('=');
    return eq > 0 ? spec.slice(0, eq) : file ? basename(spec) : '';
  };
  const keys = [...flags.fromLiteral.map((l) => keyOf(l, false)), ...flags.fromFile.map((f) => keyOf(f, true))].filter((k) => k !== '');
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined) usageError(cmd, `key "${twice.slice(0, 64)}" is given twice by --from-literal/--from-file; give each key once`);
  if (flags.name !== undefined && !isObjectName(flags.name)) {
    throw new SealboxError('INPUT', `--name "${flags.name.slice(0, 64)}" is not a valid Secret name: use a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)`);
  }
  if (flags.namespace !== undefined && !isNamespaceName(flags.namespace)) {
    throw new SealboxError('INPUT', `--namespace "${flags.namespace.slice(0, 64)}" is not a valid namespace: use a DNS-1123 label (lowercase letters, digits and "-", at most 63)`);
  }
}

/**
 * Refuses an input with no Secret in it (a ConfigMap alone): writing it back
 * would look like a success. Resources already sealed count as Secrets.
 */
function requireSecret(found: { secrets: number; sealed: number; others: readonly string[] }, source: string): void {
  if (found.secrets + found.sealed > 0) return;
  const held = found.others.length === 0 ? '' : ` (it holds ${found.others.slice(0, 3).join(', ')}${found.others.length > 3 ? ', …' : ''})`;
  throw new SealboxError('INPUT', `${source} has no Secret to seal${held}; give a file with a "kind: Secret" manifest`);
}

function parseScope(s: string): Scope {
  if (!isScope(s)) throw new SealboxError('INPUT', `--scope ${s}: use strict, namespace or cluster`);
  return s;
}

function parseFormat(s: string): OutputFormat {
  if (s !== 'yaml' && s !== 'json') throw new SealboxError('INPUT', `--format ${s}: use yaml or json`);
  return s;
}

/**
 * The path `.sealbox.yaml` rules are matched against: the file written
 * (`-o`, `--merge-into`), else the file read, else (standard input to
 * standard output) the current folder.
 */
function configTarget(flags: SealFlags, override?: string): { target: string; startDir: string } {
  if (override !== undefined) return { target: override, startDir: dirname(resolve(override)) };
  const file = [flags.output, flags.mergeInto, flags.file].find((f) => f !== undefined && f !== '-');
  return file === undefined ? { target: process.cwd(), startDir: process.cwd() } : { target: file, startDir: dirname(resolve(file)) };
}

/**
 * Returns the scope and the recipients: --cert/--kms when given, else the
 * first matching rule of the nearest .sealbox.yaml, else the cluster's newest
 * certificate (as kubeseal does). --scope overrides a rule's scope.
 */
async function resolveRecipients(flags: SealFlags, target?: string): Promise<{ scope: Scope; wrappers: KeyWrapper[] }> {
  const flagScope = flags.scope === undefined ? undefined : parseScope(flags.scope);
  if (flags.cert.length > 0 || flags.kms.length > 0) {
    // The SDKs load only when --kms is given.
    return { scope: flagScope ?? 'strict', wrappers: [...(await certWrappers(flags.cert)), ...(await kmsWrappers(flags.kms))] };
  }
  const { target: ruleTarget, startDir } = configTarget(flags, target);
  const config = await findConfig(startDir);
  if (config !== undefined) {
    const rule = ruleFor(config, ruleTarget);
    if (rule === undefined) {
      throw new SealboxError('INPUT', `no rule of ${config.file} matches ${ruleTarget}; add a rule for it, or pass --cert or --kms`);
    }
    try {
      checkRuleTransport(config, rule, flags.insecureHttp === true);
      const scope = flagScope ?? rule.scope ?? 'strict';
      const wrappers = await recipientWrappers(rule.recipients);
      process.stderr.write(ruleNotice(config, rule, wrappers.map((w) => w.recipient), scope));
      return { scope, wrappers };
    } catch (err) {
      if (err instanceof SealboxError) throw new SealboxError(err.code, `${describeRule(config, rule)}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const pem = await fetchCertificates(flags, false);
  const cert = CertRecipient.fromPem(pem, `certificate of controller ${flags.controllerNamespace}/${flags.controllerName}`);
  const controller = flags.controllerUrl ?? `${flags.controllerNamespace}/${flags.controllerName}`;
  process.stderr.write(`no ${CONFIG_FILE} applies to ${ruleTarget}; using the newest certificate of controller ${controller}: recipients cert ${cert.recipient.id}\n`);
  return { scope: flagScope ?? 'strict', wrappers: [cert] };
}

async function secretsFromFile(file: string): Promise<SecretData[]> {
  const { parseSecret, expandLists } = await import('../../src/format/secret.js');
  const source = file === '-' ? 'standard input' : file;
  const docs = parseDocuments(await readText(file), source);
  const secrets = docs.flatMap((d) => expandLists([d.value], `${source} document ${d.index}`).map((v) => parseSecret(v, `${source} document ${d.index}`)));
  const places = secrets.map((s) => `${s.namespace}/${s.name}`);
  const twice = places.find((p, i) => places.indexOf(p) !== i);
  if (twice !== undefined) throw new SealboxError('INPUT', `${source} holds two Secrets named "${twice.replace(/^\//, '')}"; give each Secret once`);
  return secrets;
}

async function secretFromFlags(flags: SealFlags, name: string): Promise<SecretData> {
  const data = new Map<string, Uint8Array>();
  for (const lit of flags.fromLiteral) {
    const eq = lit.indexOf('=');
    if (eq <= 0) throw new SealboxError('INPUT', `--from-literal ${lit.slice(0, 40).replace(/=.*/, '=…')}: use KEY=VALUE`);
    data.set(lit.slice(0, eq), new Uint8Array(Buffer.from(lit.slice(eq + 1), 'utf8')));
  }
  for (const spec of flags.fromFile) {
    const eq = spec.indexOf('=');
    const path = eq < 0 ? spec : spec.slice(eq + 1);
    data.set(eq < 0 ? basename(path) : spec.slice(0, eq), new Uint8Array(await readInput(path)));
  }
  return { name, namespace: flags.namespace ?? '', type: flags.type, labels: {}, annotations: {}, data };
}

function literalManifest(s: SecretData): object {
  const data = Object.fromEntries([...s.data].map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  if (s.name === '') throw new SealboxError('INPUT', '--from-literal/--from-file need --name');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: s.name, ...(s.namespace === '' ? {} : { namespace: s.namespace }) }, type: s.type, data };
}
