#!/usr/bin/env node
// Prints the krew plugin manifest for a release: plugins/sealbox.yaml with
// the version from package.json and the sha256 of the npm tarball given
// (the file `npm pack` made, attached to the GitHub release as is).
//   node scripts/krew-manifest.mjs sealbox-0.1.0.tgz > sealbox.yaml
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const tarball = process.argv[2];
if (tarball === undefined) {
  console.error('usage: node scripts/krew-manifest.mjs SEALBOX-VERSION.tgz');
  process.exit(2);
}
const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
const template = readFileSync(new URL('plugins/sealbox.yaml', root), 'utf8');
// the template's leading comment is about the template, not the release
const body = template.slice(template.indexOf('apiVersion:'));
process.stdout.write(body.replaceAll('{{VERSION}}', version).replaceAll('{{SHA256}}', sha256));
