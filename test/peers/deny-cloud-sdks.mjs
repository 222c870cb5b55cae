// Preload (node --import) that makes every load of a cloud SDK fail, so a
// test can prove that a command path never loads one: `node --import
// ./test/peers/deny-cloud-sdks.mjs dist/bundle/sealbox.js seal --cert …`.
// SDKs kept external are refused by package name; the AWS SDK, bundled into
// a lazily loaded chunk of dist/bundle, is refused when a chunk holding its
// package metadata is loaded.
import { register } from 'node:module';

register(`data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|azure|smithy)\\//.test(specifier)) throw new Error('cloud SDK import denied: ' + specifier);
  return next(specifier, context);
}
export async function load(url, context, next) {
  const r = await next(url, context);
  if (url.startsWith('file:') && url.includes('/dist/bundle/') && r.source !== undefined) {
    const m = /name:\\s*"(@aws-sdk\\/client-kms)",\\s*version:/.exec(String(r.source));
    if (m) throw new Error('cloud SDK import denied: ' + m[1]);
  }
  return r;
}`)}`);
