// A stand-in for $EDITOR in tests of `sealbox edit`: `node fake-editor.mjs FILE`.
// Records what it was given — the file's path and the permission bits of the
// file and its folder, never the content — to the JSON file named by
// SEALBOX_FAKE_EDITOR_LOG, then acts as SEALBOX_FAKE_EDITOR says:
//   replace:FROM:TO  replace every FROM with TO, save, exit 0
//   fail             exit 1 without saving
//   hang             wait (until killed), after writing the log
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import process from 'node:process';

const [file = ''] = process.argv.slice(2);
const action = process.env.SEALBOX_FAKE_EDITOR ?? '';
const log = process.env.SEALBOX_FAKE_EDITOR_LOG;
if (log !== undefined && log !== '') {
  writeFileSync(log, JSON.stringify({ file, fileMode: statSync(file).mode & 0o777, dirMode: statSync(dirname(file)).mode & 0o777 }));
}
if (action.startsWith('replace:')) {
  const [, from = '', to = ''] = action.split(':');
  writeFileSync(file, readFileSync(file, 'utf8').split(from).join(to));
  process.exit(0);
} else if (action === 'fail') {
  process.exit(1);
} else if (action === 'hang') {
  setInterval(() => undefined, 1000);
} else {
  process.stderr.write(`fake-editor: unknown SEALBOX_FAKE_EDITOR "${action}"\n`);
  process.exit(2);
}
