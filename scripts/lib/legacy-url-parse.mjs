// What node-fetch 2 (client-node's HTTP client) gets instead of Node's
// `url.parse`, in the bundles (scripts/lib/bundle-fixes.mjs): Node 24 warns
// of DEP0169 on every url.parse call outside node_modules, and a bundle has
// no node_modules. Built on the WHATWG URL parser; returns the fields of
// url.parse's legacy object that node-fetch reads (protocol, hostname: it
// rejects a URL without them) and spreads into http.request's options
// (host, hostname, port, path, auth), and that url.format needs to give
// back `request.url`.
import { urlToHttpOptions } from 'node:url';

/**
 * Parses `input` like url.parse(input) for an absolute URL; for anything the
 * WHATWG parser rejects (a relative URL), returns an object without protocol
 * or hostname, which node-fetch reports as "Only absolute URLs are supported".
 * @param {string} input
 */
export function legacyUrlParse(input) {
  let url;
  try {
    url = new URL(input);
  } catch {
    return { protocol: null, slashes: null, auth: null, host: null, port: null, hostname: null, hash: null, search: null, query: null, pathname: null, path: input, href: input };
  }
  const o = urlToHttpOptions(url);
  return {
    protocol: url.protocol,
    slashes: true,
    auth: o.auth ?? null,
    host: url.host,
    port: url.port === '' ? null : url.port,
    hostname: o.hostname,
    hash: url.hash === '' ? null : url.hash,
    search: url.search === '' ? null : url.search,
    query: url.search === '' ? null : url.search.slice(1),
    pathname: url.pathname,
    path: `${url.pathname}${url.search}`,
    href: url.href,
  };
}
