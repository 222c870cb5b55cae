// Preload (node --import) that makes every import of a cloud SDK fail, so a
// test can prove that a command path never loads one: `node --import
// ./test/peers/deny-cloud-sdks.mjs dist/cli/main.js seal --cert …`.
import { register } from 'node:module';

register(`data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|azure|smithy)\\//.test(specifier)) throw new Error('cloud SDK import denied: ' + specifier);
  return next(specifier, context);
}`)}`);
