// A crowd of re-wrap clients in a process of its own, so that sending the
// attack does not slow the test process that measures /healthz.
// Usage: node rewrap-crowd.mjs URL SECONDS CLIENTS BODY_FILE... ; the last
// body file is the costly one. Prints {"statuses": {...}, "admittedCostly": N}.
import { readFileSync } from 'node:fs';

const [url, seconds, clients, ...files] = process.argv.slice(2);
const bodies = files.map((f) => readFileSync(f));
const costly = bodies.length - 1;
const statuses = {};
let admittedCostly = 0;
const until = Date.now() + Number(seconds) * 1000;

async function client(i) {
  for (let n = 0; Date.now() < until; n++) {
    const which = (i + n) % bodies.length;
    let status = -1;
    try {
      const res = await fetch(`${url}/v1/rewrap`, { method: 'POST', body: bodies[which], headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.0.0.${i}` } });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      // a closed connection counts as -1
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (which === costly && status === 422) admittedCostly++;
  }
}

await Promise.all(Array.from({ length: Number(clients) }, (_, i) => client(i)));
process.stdout.write(`${JSON.stringify({ statuses, admittedCostly })}\n`);
