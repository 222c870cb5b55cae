// Turns the raw measurements into table rows (median, min–max, ratio
// sealbox/peer) and prints them as a Markdown table.
import { summarize } from './stats.mjs';

const fmtNum = (x) => {
  if (x === undefined || x === null || Number.isNaN(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toFixed(3);
};

function cell(s) {
  if (s === null || s === undefined) return '—';
  if (s.n === 1) return fmtNum(s.median);
  return `${fmtNum(s.median)} (${fmtNum(s.min)}–${fmtNum(s.max)})`;
}

function ratio(a, b) {
  if (!a || !b) return undefined;
  if (b.median === 0) return a.median === 0 ? 1 : Infinity;
  return a.median / b.median;
}

const fmtRatio = (r) => (r === undefined ? '—' : r === Infinity ? '∞' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`);

const S = (xs) => summarize(xs.filter((x) => x !== undefined && x !== null));

/** Builds the table rows from report.raw. */
export function buildTable(report, o) {
  const rows = [];
  const add = (id, what, unit, sb, peerName, peer, note = '') => {
    rows.push({ id, what, unit, sealbox: strip(sb), peer: peerName, peerValue: strip(peer), ratio: ratio(sb, peer) ?? null, note });
  };
  const cli = report.raw.cli;
  if (cli?.one) {
    const { sealbox, kubeseal, nodeStartup, binary, binaryStartup, binaryExtraCa } = cli.one;
    const cpu = (ms) => S(ms.map((m) => m.cpuMs));
    add('1', 'seal 1 Secret (5 values), cert file: wall time', 'ms', S(sealbox.map((m) => m.wallMs)), 'kubeseal --cert', S(kubeseal.map((m) => m.wallMs)), 'whole process incl. runtime start-up');
    if (binary) {
      add('1', 'seal 1 Secret by the single executable (`npm run build:binary`): wall time', 'ms', S(binary.map((m) => m.wallMs)), 'kubeseal --cert', S(kubeseal.map((m) => m.wallMs)), 'no Node installed; V8 startup snapshot');
      add('1', 'seal 1 Secret by the single executable: peak RSS', 'MiB', S(binary.map((m) => m.maxRssKb / 1024)), 'kubeseal --cert', S(kubeseal.map((m) => m.maxRssKb / 1024)));
      add('1', 'seal 1 Secret by the single executable: CPU time (user + system)', 'ms', cpu(binary), 'kubeseal --cert', cpu(kubeseal), 'GNU time: 10 ms steps');
      if (binaryExtraCa) add('1', 'reference: the single executable\'s seal with NODE_EXTRA_CA_CERTS set (the bench\'s environment has it)', 'ms', S(binaryExtraCa.map((m) => m.wallMs)), 'kubeseal --cert', S(kubeseal.map((m) => m.wallMs)), 'Node 20 loads the CA certificates at start-up');
      if (binaryStartup) add('1', 'reference: the single executable\'s start-up alone (`sealbox --version`)', 'ms', S(binaryStartup.map((m) => m.wallMs)), 'kubeseal --cert', S(kubeseal.map((m) => m.wallMs)), 'runtime, snapshot, command line; no sealing');
    }
    if (nodeStartup) add('1', 'reference: Node.js start-up alone (`node -e 0`)', 'ms', S(nodeStartup.map((m) => m.wallMs)), 'kubeseal --cert', S(kubeseal.map((m) => m.wallMs)), 'the part of the row above that is the runtime');
    add('1', 'seal 1 Secret: peak RSS of the process', 'MiB', S(sealbox.map((m) => m.maxRssKb / 1024)), 'kubeseal --cert', S(kubeseal.map((m) => m.maxRssKb / 1024)));
  }
  if (cli?.bulk) {
    const { sealboxDir, kubesealPerFile, sealboxStream, kubesealStream } = cli.bulk;
    const n = o.bulkFiles.toLocaleString('en-US');
    add('2', `seal ${n} Secret files: \`sealbox seal -f DIR -o OUT\` vs kubeseal once per file`, 's', S(sealboxDir.map((m) => m.wallMs / 1000)), 'kubeseal per file', S(kubesealPerFile.map((m) => m.wallMs / 1000)), 'one process vs a shell loop');
    add('2', `seal ${n} files: both as one multi-document stream in 1 process`, 's', S(sealboxStream.map((m) => m.wallMs / 1000)), 'kubeseal 1 process', S(kubesealStream.map((m) => m.wallMs / 1000)));
    add('2', `seal ${n} files: peak RSS, 1 process`, 'MiB', S(sealboxDir.map((m) => m.maxRssKb / 1024)), 'kubeseal 1 process', S(kubesealStream.map((m) => m.maxRssKb / 1024)), 'sealbox: folder mode; kubeseal: stream');
  }
  const sb = report.raw.sealboxController;
  const ss = report.raw.bitnamiController;
  const n = (sb ?? ss)?.resources?.toLocaleString('en-US') ?? '';
  const floor = report.raw.rsaFloor;
  if (sb || ss) {
    const q = `QPS ${o.qps}/burst ${o.burst} both`;
    add('3', `controller cold start, ${n} × 5 values: until every Secret exists`, 's', S(sb?.cold.map((c) => c.ms / 1000) ?? []), 'sealed-secrets controller', S(ss?.cold.map((c) => c.ms / 1000) ?? []), q);
    add('3', 'cold start: CPU seconds of the controller', 'CPU s', S(sb?.cold.map((c) => c.cpuSec) ?? []), 'sealed-secrets controller', S(ss?.cold.map((c) => c.cpuSec) ?? []), 'utime+stime from /proc at the last Secret');
    const cpCpu = (c) => (c.controlPlaneCpuSec ? Object.values(c.controlPlaneCpuSec).reduce((a, b) => a + b, 0) : undefined);
    add('3', 'cold start: CPU seconds of kube-apiserver + etcd meanwhile', 'CPU s', S(sb?.cold.map(cpCpu) ?? []), 'sealed-secrets controller', S(ss?.cold.map(cpCpu) ?? []), 'same 2 cores as the controller');
    add('3', 'cold start: API requests (secrets, sealedsecrets, events)', 'requests', S(sb?.cold.map((c) => apiCount(c.api)) ?? []), 'sealed-secrets controller', S(ss?.cold.map((c) => apiCount(c.api)) ?? []), 'apiserver_request_total, leases aside');
    add('3', 'cold start: RSA-4096 private operations', 'ops', S(sb?.cold.map((c) => c.metrics?.rsaOps) ?? []), 'sealed-secrets controller', S(ss?.cold.map((c) => (c.metrics?.unsealRequests ?? NaN) * 5) ?? []), 'sealbox: its metric; sealed-secrets: 5 values × 1 key × unseal requests (computed)');
    if (sb && floor?.privateOpsPerSec) {
      const floorSec = sb.resources / floor.privateOpsPerSec;
      const runs = sb.floorRun ? [sb.floorRun] : sb.cold;
      const qps = sb.floorRun ? sb.floorRun.qps : o.qps;
      add('3', `sealbox cold start (QPS ${qps}) vs floor: ${n} RSA-4096 private ops / openssl speed -multi ${floor.processes}`, 's', S(runs.map((c) => c.ms / 1000)), 'RSA floor', S([floorSec]), `openssl: ${fmtNum(floor.privateOpsPerSec)} private ops/s on ${floor.processes} cores (median of 3)`);
    }
    const sbSteady = sb?.steady;
    const ssSteady = ss?.steady;
    add('4', `steady state: API writes in one resync of ${n} (leases aside)`, 'writes', S([sbSteady?.writesExceptLeases]), 'sealed-secrets controller', S([ssSteady?.writesExceptLeases]), 'sealed-secrets has no periodic resync: same-length idle window');
    add('4', 'steady state: RSA private operations', 'ops', S([sbSteady?.rsaOps]), 'sealed-secrets controller', S([ssSteady ? ssSteady.unsealRequests * 5 : undefined]));
    add('4', 'steady state: CPU seconds over the window', 'CPU s', S([sbSteady?.cpuSec]), 'sealed-secrets controller', S([ssSteady?.cpuSec]), sbSteady ? `window ${fmtNum(sbSteady.windowMs / 1000)} s` : '');
    add('5', `RSS after the cold start of ${n}`, 'MiB', S(sb?.cold.map((c) => c.rssKb / 1024) ?? []), 'sealed-secrets controller', S(ss?.cold.map((c) => c.rssKb / 1024) ?? []), `VmRSS at the last Secret${heapNote(sb, ss)}`);
    const lat = (x, p) => (x?.latencyMs ? { ...summarize(x.latencyMs.samples.filter(Number.isFinite)), median: x.latencyMs[p] } : null);
    add('6', `latency, 1 new sealed resource while ${n} exist → Secret: p50`, 'ms', lat(sb, 'p50'), 'sealed-secrets controller', lat(ss, 'p50'), `${o.latencyTrials} trials; min–max over all trials`);
    add('6', 'latency: p99', 'ms', lat(sb, 'p99'), 'sealed-secrets controller', lat(ss, 'p99'));
  }
  const kms = report.raw.kms;
  if (kms?.pending) {
    rows.push({ id: '7', what: 'KMS rows', unit: '', sealbox: null, peer: 'sops', peerValue: null, ratio: null, note: `pending: ${kms.pending}` });
  } else if (kms?.results) {
    const r = kms.results;
    const s = (k) => S(r[k].map((m) => m.wallMs / 1000));
    const f = o.kmsFiles;
    add('7', `AWS KMS (moto): unseal ${f} files, one process per file`, 's', s('sealboxUnsealPerFile'), 'sops decrypt per file', s('sopsDecryptPerFile'));
    add('7', `unseal ${f} files: sealbox 1 process (stream) vs sops per file`, 's', s('sealboxUnsealStream'), 'sops decrypt per file', s('sopsDecryptPerFile'));
    add('7', `rotate ${f} files key A → B: sealbox rotate DIR vs sops updatekeys per file`, 's', s('sealboxRotate'), 'sops updatekeys per file', s('sopsUpdatekeys'));
  }
  return rows;
}

function heapNote(sb, ss) {
  const mib = (b) => (b ? `${fmtNum(b / 2 ** 20)} MiB` : undefined);
  const a = mib(sb?.cold[0]?.metrics?.heapUsedBytes);
  const b = mib(ss?.cold[0]?.metrics?.heapInuseBytes);
  return a || b ? `; heap in use after the cold start: sealbox (V8) ${a ?? '—'}, sealed-secrets (Go) ${b ?? '—'}` : '';
}

function apiCount(api) {
  if (!api) return undefined;
  return Object.entries(api.byKey).filter(([k]) => !k.endsWith(' leases') && !k.endsWith(' configmaps')).reduce((a, [, v]) => a + v, 0);
}

function strip(s) {
  if (!s) return null;
  const { samples: _s, ...rest } = s;
  return rest;
}

/** Prints the table (Markdown) and any errors. */
export function printTable(report) {
  const lines = [
    '| # | measurement | unit | sealbox median (min–max) | peer | peer median (min–max) | sealbox / peer | notes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of report.table) {
    lines.push(`| ${r.id} | ${r.what} | ${r.unit} | ${cell(r.sealbox)} | ${r.peer} | ${cell(r.peerValue)} | ${fmtRatio(r.ratio ?? undefined)} | ${r.note} |`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const m = report.machine;
  process.stdout.write(`\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}\n`);
  const v = report.versions;
  process.stdout.write(`versions: sealbox ${v.sealbox} (${v.sealboxCommit}${v.sealboxDirty ? ', modified' : ''}), node ${v.node}, kubeseal/controller v${v.kubeseal}, sops v${v.sops}, kubernetes v${v.kubernetes}, etcd v${v.etcd}, moto ${v.moto}, ${v.openssl}\n`);
  const load = Object.entries(report.load ?? {}).map(([k, l]) => `${k} ${l.before[0]}→${l.after[0]}`).join(', ');
  if (load) process.stdout.write(`load average (1 min) before→after each step: ${load}\n`);
  for (const [k, e] of Object.entries(report.errors)) process.stdout.write(`\nERROR in ${k}: ${e.split('\n')[0]}\n`);
}
