// A stand-in for $EDITOR in tests of `sealbox edit` that may be opened
// several times: `node scripted-editor.mjs FILE`. SEALBOX_SCRIPT names a
// JSON file holding a list of steps, one per opening:
//   { "replace": [FROM, TO] }  replace every FROM with TO and save
//   { "write": TEXT }          save TEXT
//   "keep"                     save nothing (the file comes back unchanged)
// Opening N copies what it was given to SEALBOX_SCRIPT.N.seen (test values
// only: the tests use no real secrets) so a test can read the error shown.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const [file = ''] = process.argv.slice(2);
const script = process.env.SEALBOX_SCRIPT ?? '';
const counter = `${script}.count`;
let n = 0;
try {
  n = Number(readFileSync(counter, 'utf8'));
} catch {
  n = 0;
}
writeFileSync(counter, String(n + 1));
const given = readFileSync(file, 'utf8');
writeFileSync(`${script}.${n}.seen`, given);
const step = JSON.parse(readFileSync(script, 'utf8'))[n];
if (step === undefined) {
  process.stderr.write(`scripted-editor: no step ${n}\n`);
  process.exit(2);
}
if (step !== 'keep') {
  writeFileSync(file, step.write ?? given.split(step.replace[0]).join(step.replace[1]));
}
