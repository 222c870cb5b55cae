// The bench:scale table (Markdown): one row per size and controller, a ratio
// row sealbox / sealed-secrets where both ran, a row for sharded replicas.

const f = (x, digits = 0) => (x === undefined || x === null || Number.isNaN(x) ? '—' : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const sum = (xs) => (xs ?? []).reduce((a, b) => a + (b ?? NaN), 0);
const mib = (kb) => (kb === undefined || kb === null ? undefined : kb / 1024);
const ratio = (a, b) => (a === undefined || b === undefined || a === null || b === null || !b ? '—' : `${(a / b).toFixed(2)}×`);

/** The figures of one controller run at one size, as the table shows them. */
export function scaleFigures(r) {
  const c = r?.cold;
  if (!c) return undefined;
  const cpu = sum(c.cpuSec);
  const api = c.api ? c.api.reads + c.api.writes : undefined;
  return {
    secretsSec: c.complete || c.secrets >= r.resources ? c.secretsMs / 1000 : undefined,
    readySec: c.readyMs === null ? undefined : c.readyMs / 1000,
    cpuSec: cpu,
    cpuMsPerResource: (cpu * 1000) / r.resources,
    peakRssMiB: Math.max(...c.hwmKb.map((x) => mib(x) ?? NaN)),
    settledRssMiB: mib(r.steady?.rssKb ?? r.settledRssKb),
    api,
    steadyCpuSec: r.steady?.cpuSec,
    rsaOps: r.controller === 'sealbox' ? sum(c.metrics.map((m) => m?.rsaOps)) : sum(c.metrics.map((m) => m?.unsealRequests)) * 5,
    complete: c.complete,
  };
}

const HEAD = [
  '| resources | controller | cold start: every Secret (s) | every status Ready (s) | controller CPU (s) | CPU ms / resource | peak RSS (MiB) | settled RSS (MiB) | API requests | steady state: CPU s per resync | RSA private ops |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

function row(n, name, x, note = '') {
  if (!x) return `| ${f(n)} | ${name} | failed${note} | | | | | | | | |`;
  return `| ${f(n)} | ${name} | ${f(x.secretsSec, 1)}${x.complete ? '' : ' (incomplete)'} | ${f(x.readySec, 1)} | ${f(x.cpuSec, 1)} | ${f(x.cpuMsPerResource, 2)} | ${f(x.peakRssMiB)} | ${f(x.settledRssMiB)} | ${f(x.api)} | ${f(x.steadyCpuSec, 1)} | ${f(x.rsaOps)}${note} |`;
}

/** Markdown lines of the table. */
export function scaleTableLines(report) {
  const lines = [...HEAD];
  for (const [size, runs] of Object.entries(report.sizes)) {
    const n = Number(size);
    const sb = scaleFigures(runs.sealbox);
    const ss = scaleFigures(runs['sealed-secrets']);
    lines.push(row(n, 'sealbox', sb, report.errors[`sealbox ${n}`] ? ` (error: ${report.errors[`sealbox ${n}`].split('\n')[0].slice(0, 80)})` : ''));
    if (runs['sealed-secrets'] || report.errors[`sealed-secrets ${n}`]) {
      lines.push(row(n, 'sealed-secrets', ss));
      if (sb && ss) {
        lines.push(`| ${f(n)} | sealbox / sealed-secrets | ${ratio(sb.secretsSec, ss.secretsSec)} | ${ratio(sb.readySec, ss.readySec)} | ${ratio(sb.cpuSec, ss.cpuSec)} | | ${ratio(sb.peakRssMiB, ss.peakRssMiB)} | ${ratio(sb.settledRssMiB, ss.settledRssMiB)} | ${ratio(sb.api, ss.api)} | | ${ratio(sb.rsaOps, ss.rsaOps)} |`);
      }
    }
    const sh = runs.sealbox?.sharded;
    if (sh) {
      const x = scaleFigures({ controller: 'sealbox', resources: n, cold: sh });
      lines.push(row(n, `sealbox, ${sh.shards} shards`, x ? { ...x, settledRssMiB: undefined, steadyCpuSec: undefined } : undefined, ` (per shard: ${sh.rsaOps.map((v) => f(v)).join(' + ')}; peak RSS ${sh.hwmKb.map((v) => f(mib(v))).join(' / ')} MiB)`));
    }
  }
  return lines;
}

/** Prints the table, the machine, the load around each run and any errors. */
export function printScaleTable(report) {
  process.stdout.write(`\n${scaleTableLines(report).join('\n')}\n`);
  const m = report.machine;
  process.stdout.write(`\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; sealbox ${report.versions.sealboxCommit}, node ${report.versions.node}, sealed-secrets v${report.versions.sealedSecretsController}\n`);
  const load = Object.entries(report.load).map(([k, l]) => `${k} ${l.before[0]}→${l.after[0]}`).join(', ');
  process.stdout.write(`load average (1 min) before→after each run: ${load}\n`);
  for (const [k, e] of Object.entries(report.errors)) process.stdout.write(`\nERROR in ${k}: ${e.split('\n')[0]}\n`);
}
