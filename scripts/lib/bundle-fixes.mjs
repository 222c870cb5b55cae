// esbuild options shared by the npm bundle (scripts/bundle.mjs) and the
// single executable (scripts/build-binary.mjs) so that the bundled
// dependencies print no deprecation warnings on Node 24. Node keeps those
// warnings quiet for code under node_modules; a bundle has none, so users
// saw them:
//   - DEP0040: whatwg-url and tr46 (node-fetch 2, under client-node) require
//     the built-in `punycode`; `punycode/` is the same code from npm
//     (a pinned devDependency) and bundles in its place;
//   - DEP0169: node-fetch 2 calls url.parse on every request; it gets
//     scripts/lib/legacy-url-parse.mjs instead.
// test/cli/node24-warnings.test.ts runs the bundle on Node 24.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const LEGACY_URL_PARSE = fileURLToPath(new URL('./legacy-url-parse.mjs', import.meta.url));
// the line of node-fetch 2.x (lib/index.js and lib/index.mjs) that takes url.parse
const NODE_FETCH_PARSE = 'const parse_url = Url.parse;';

/** An esbuild plugin that gives node-fetch 2 the WHATWG-based parse instead of url.parse. */
const nodeFetchWithoutUrlParse = {
  name: 'node-fetch-without-url-parse',
  setup(build) {
    build.onLoad({ filter: /[\\/]node-fetch[\\/]lib[\\/]index\.m?js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(NODE_FETCH_PARSE)) {
        throw new Error(`${args.path}: no "${NODE_FETCH_PARSE}" line to replace (node-fetch changed?): update scripts/lib/bundle-fixes.mjs`);
      }
      const shim = `const parse_url = require(${JSON.stringify(LEGACY_URL_PARSE)}).legacyUrlParse;`;
      return { contents: source.replace(NODE_FETCH_PARSE, shim), loader: 'js' };
    });
  },
};

/** esbuild options to spread into a build: the punycode alias and the node-fetch plugin. */
export const bundleFixes = {
  alias: { punycode: 'punycode/' },
  plugins: [nodeFetchWithoutUrlParse],
};
