// Preloaded into a CLI process under test (`node --import rss-probe.mjs ...`):
// on exit, writes the process's peak resident set size (getrusage maxrss, KiB)
// to the file named by SEALBOX_PROBE_OUT. Lets a test bound the memory each
// hostile input costs without any tool beyond Node.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const out = process.env.SEALBOX_PROBE_OUT;
if (out !== undefined && out !== '') {
  process.on('exit', () => {
    writeFileSync(out, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }));
  });
}
