// Preload (node --import) that makes every load of a cloud SDK fail, so a
// test can prove that a command path never loads one: `node --import
// ./test/peers/deny-cloud-sdks.mjs dist/bundle/sealbox.js seal --cert …`.
// The SDKs are bundled into lazily loaded chunks of dist/bundle: a chunk is
// refused when it holds the AWS KMS client's package metadata or an Azure SDK
// client's package name; an import by package name (an unbundled build) is
// refused too.
import { register } from 'node:module';

register(`data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|azure|smithy)\\//.test(specifier)) throw new Error('cloud SDK import denied: ' + specifier);
  return next(specifier, context);
}
export async function load(url, context, next) {
  const r = await next(url, context);
  if (url.startsWith('file:') && url.includes('/dist/bundle/') && r.source !== undefined) {
    const m = /name:\\s*"(@aws-sdk\\/client-kms)",\\s*version:|packageName:\\s*"(@azure\\/[a-z-]+)"/.exec(String(r.source));
    if (m) throw new Error('cloud SDK import denied: ' + (m[1] ?? m[2]));
  }
  return r;
}`)}`);
