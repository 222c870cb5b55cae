#!/usr/bin/env node
// RSA lanes: the controller's RSA-4096 unwraps with four in flight (its
// default --workers), through CertIdentity (one imported copy of the key per
// libuv pool thread, src/keys/cert.ts RSA_LANES) against one imported copy
// (as before).
// Node locks an imported key for each operation, so one copy runs them one
// at a time. Prints medians of wall and CPU time per operation, and ratios.
// Needs `npm run build`. See docs/BENCHMARKS.md "RSA lanes".
//
//   node bench/rsa-lanes.mjs [--ops=200] [--rounds=7] [--in-flight=4]
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { summarize } from './lib/stats.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { CertIdentity, RSA_LANES } = await import(pathToFileURL(resolve(root, 'dist/src/keys/cert.js')).href);
const { wrapLabel } = await import(pathToFileURL(resolve(root, 'dist/src/crypto/binding.js')).href);

const opt = (name, dflt) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const ops = opt('ops', 200);
const rounds = opt('rounds', 7);
const inFlight = opt('in-flight', 4);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 4096 });
const id = CertIdentity.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }), 'bench key');
const one = await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
const binding = { scope: 'strict', namespace: 'bench', name: 'lanes' };
const dataKey = new Uint8Array(32).fill(7);
const stanza = await id.wrapper().wrap(dataKey, binding);
const label = wrapLabel(binding);

const ways = {
  'one imported copy (before)': () => webcrypto.subtle.decrypt({ name: 'RSA-OAEP', label }, one, stanza.wrapped),
  [`CertIdentity (${String(RSA_LANES)} copies)`]: () => id.unwrap(stanza, binding),
};

/** Wall and CPU milliseconds per operation for `ops` operations, `inFlight` at a time. */
async function measure(op) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < ops) await op();
  }));
  const cpu = process.cpuUsage(cpu0);
  return { wall: (performance.now() - t0) / ops, cpu: (cpu.user + cpu.system) / 1000 / ops };
}

const samples = Object.fromEntries(Object.keys(ways).map((k) => [k, { wall: [], cpu: [] }]));
for (let r = 0; r < rounds; r++) {
  // Alternate the order, so that neither way always runs first in a round.
  const names = r % 2 === 0 ? Object.keys(ways) : Object.keys(ways).reverse();
  for (const name of names) {
    const m = await measure(ways[name]);
    samples[name].wall.push(m.wall);
    samples[name].cpu.push(m.cpu);
  }
}

const fmt = (s) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
console.log(`RSA-4096 OAEP unwraps, ${String(inFlight)} in flight, ${String(ops)} per round, ${String(rounds)} rounds; node ${process.version}`);
console.log('| way | wall ms / op | CPU ms / op |');
console.log('| --- | --- | --- |');
const med = {};
for (const [name, s] of Object.entries(samples)) {
  const wall = summarize(s.wall);
  const cpu = summarize(s.cpu);
  med[name] = wall.median;
  console.log(`| ${name} | ${fmt(wall)} | ${fmt(cpu)} |`);
}
const [before, after] = Object.values(med);
console.log(`wall per operation, CertIdentity / one copy: ${(after / before).toFixed(2)}x`);
