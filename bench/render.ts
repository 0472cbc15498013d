/**
 * Output of a bench run: the stdout table, the JSON document and the SVG chart. Pure
 * functions of the results, so the unit tests render fixed inputs.
 */
import type { Machine, MetricResult, ScenarioResult } from './harness.ts';
import { AIRFLOW_TOTAL_LAG_S, LAG_SHAPES, quantile } from './stats.ts';

export interface BenchReport {
  machine: Machine;
  command: string;
  mode: string;
  quick: boolean;
  /** Seconds of warm-up work before the first scenario, on the shared cluster and each peer (warm-up.ts). */
  warmupSeconds: number;
  dask: { ran: boolean; version?: string; note?: string };
  /** `redis` is the redis-server version. */
  bullmq: { ran: boolean; version?: string; redis?: string; note?: string };
  scenarios: ScenarioResult[];
}

/** The peers' columns of the table: label and where a metric keeps their summary. */
const PEER_COLUMNS = [
  { label: 'Dask', summary: (m: MetricResult) => m.dask },
  { label: 'BullMQ', summary: (m: MetricResult) => m.bullmq },
] as const;

/** Compact numbers: 3 significant digits below 100, thousands separators above. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(2);
}

/** Whether a median meets its target ('' when there is none). */
export function verdict(m: MetricResult): string {
  if (m.target === undefined || !Number.isFinite(m.floe.median)) return '';
  const ok = m.better === 'lower' ? m.floe.median <= m.target.value : m.floe.median >= m.target.value;
  return ok ? 'met' : 'MISSED';
}

/** Rows of cells in aligned columns: the first padded on the right, the others on the left. */
export function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

/** The stdout table: one block per scenario. */
export function renderTable(report: BenchReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(`floe bench — ${m.date.slice(0, 10)}, ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, node ${m.node}, ${report.mode} mode${report.quick ? ', --quick' : ''}`);
  out.push(`command: ${report.command}`);
  if (report.warmupSeconds > 0) out.push(`warm-up: ${report.warmupSeconds} s of mixed work on the shared cluster before its first scenario (Dask and BullMQ: as long, of no-op rounds)`);
  out.push(report.dask.ran ? `Dask: distributed ${report.dask.version ?? '?'} (LocalCluster, 2 processes × 1 thread)` : `Dask: ${report.dask.note ?? 'not run (add --vs-dask)'}`);
  const b = report.bullmq;
  out.push(b.ran ? `BullMQ: bullmq ${b.version ?? '?'}, redis-server ${b.redis ?? '?'} (2 worker processes × concurrency 1; chains as nested flows)` : `BullMQ: ${b.note ?? 'not run (add --vs-bullmq)'}`);
  for (const s of report.scenarios) {
    out.push('');
    out.push(`${s.name} — ${s.title} [${s.note}] (${s.seconds.toFixed(0)} s)`);
    if (s.error !== undefined) out.push(`  FAILED: ${s.error}`);
    if (s.daskError !== undefined) out.push(`  Dask side failed: ${s.daskError}`);
    if (s.bullmqError !== undefined) out.push(`  BullMQ side failed: ${s.bullmqError}`);
    if (s.metrics.length === 0) continue;
    const peers = PEER_COLUMNS.filter((p) => s.metrics.some((x) => (p.summary(x)?.n ?? 0) > 0));
    const head = ['  metric', 'unit', 'median', 'min–max', 'n', 'target', ''];
    for (const p of peers) head.push(p.label, `floe/${p.label}`);
    head.push('reference');
    const rows = [head];
    for (const x of s.metrics) {
      // A metric no system measured here (e.g. CPU per process of a cluster, in embedded mode).
      if (x.floe.n === 0 && peers.every((p) => (p.summary(x)?.n ?? 0) === 0)) continue;
      const row = [`  ${x.key}`, x.unit, fmt(x.floe.median), `${fmt(x.floe.min)}–${fmt(x.floe.max)}`, String(x.floe.n), x.target?.text ?? '', verdict(x)];
      for (const p of peers) {
        const d = p.summary(x)?.median;
        row.push(fmt(d), d !== undefined && d !== 0 && Number.isFinite(d) ? `${fmt(x.floe.median / d)}×` : '-');
      }
      row.push(x.reference ?? '');
      rows.push(row);
    }
    out.push(...pad(rows));
  }
  return out.join('\n');
}

export function renderJson(report: BenchReport): string {
  return `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Log-scale position of `v` in [lo, hi] over [x0, x1]. */
export function logX(v: number, lo: number, hi: number, x0: number, x1: number): number {
  const c = Math.min(hi, Math.max(lo, v));
  return x0 + ((Math.log10(c) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (x1 - x0);
}

/**
 * The task-lag chart: per shape, the per-task lag distribution (box p25–p75, median, whiskers
 * min–p99, log ms) for floe, Dask and BullMQ (chains only); beside it, total lag (log s) with
 * Airflow's published totals marked, and the floor under floe's when it was measured (local
 * mode, bench/lag-floor.ts). Hand-built SVG, no dependency.
 */
/** The lag floor's mark on the total-lag axis. */
const FLOOR_COLOR = '#7f7f7f';

export function renderSvg(report: BenchReport): string {
  const lag = report.scenarios.find((s) => s.name === 'task-lag');
  const systems: Array<{ name: string; color: string; series?: Record<string, number[]>; total?: (k: string) => number | undefined }> = [
    { name: 'floe', color: '#1f77b4', series: lag?.series, total: (k) => lag?.metrics.find((m) => m.key === k)?.floe.median },
    { name: 'Dask', color: '#ff7f0e', series: lag?.daskSeries, total: (k) => lag?.metrics.find((m) => m.key === k)?.dask?.median },
    { name: 'BullMQ', color: '#2ca02c', series: lag?.bullmqSeries, total: (k) => lag?.metrics.find((m) => m.key === k)?.bullmq?.median },
  ];
  const W = 960;
  const rowH = 18 + 26 * systems.length;
  const top = 60;
  const H = top + LAG_SHAPES.length * rowH + 60;
  const [dx0, dx1] = [150, 560];
  const [tx0, tx1] = [610, 930];
  const [dLo, dHi] = [0.01, 100_000];
  const [tLo, tHi] = [0.01, 1000];
  const el: string[] = [];
  const text = (x: number, y: number, s: string, extra = ''): void => {
    el.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`);
  };
  text(10, 22, `floe task lag — Airflow scheduler benchmark shapes (${report.mode} mode${report.quick ? ', --quick' : ''}, ${report.machine.cores} cores, ${report.machine.date.slice(0, 10)})`, 'font-weight="bold"');
  text(dx0, 45, 'per-task lag, ms (log): box p25–p75, line median, whiskers min–p99');
  text(tx0, 45, 'total lag, s (log)');
  const axis = (x0: number, x1: number, lo: number, hi: number, y: number): void => {
    for (let p = Math.log10(lo); p <= Math.log10(hi) + 1e-9; p++) {
      const x = logX(10 ** p, lo, hi, x0, x1);
      el.push(`<line x1="${x.toFixed(1)}" y1="${top - 5}" x2="${x.toFixed(1)}" y2="${y}" stroke="#ddd"/>`);
      text(x - 10, y + 14, p >= 0 ? String(10 ** p) : `1e${p}`, 'font-size="10"');
    }
  };
  const bottom = top + LAG_SHAPES.length * rowH;
  axis(dx0, dx1, dLo, dHi, bottom);
  axis(tx0, tx1, tLo, tHi, bottom);
  LAG_SHAPES.forEach((shape, i) => {
    const y0 = top + i * rowH;
    text(10, y0 + rowH / 2, shape, 'font-size="12"');
    systems.forEach((sys, j) => {
      const y = y0 + 18 + j * 26;
      const values = sys.series?.[shape];
      if (values !== undefined && values.length > 0) {
        const [mn, p25, p50, p75, p99] = [0, 0.25, 0.5, 0.75, 0.99].map((q) => logX(quantile(values, q), dLo, dHi, dx0, dx1)) as [number, number, number, number, number];
        el.push(`<line x1="${mn.toFixed(1)}" y1="${y}" x2="${p99.toFixed(1)}" y2="${y}" stroke="${sys.color}"/>`);
        el.push(`<rect x="${p25.toFixed(1)}" y="${y - 8}" width="${Math.max(1, p75 - p25).toFixed(1)}" height="16" fill="${sys.color}" fill-opacity="0.35" stroke="${sys.color}"/>`);
        el.push(`<line x1="${p50.toFixed(1)}" y1="${y - 8}" x2="${p50.toFixed(1)}" y2="${y + 8}" stroke="${sys.color}" stroke-width="2"/>`);
      }
      const total = sys.total?.(`${shape} total lag`);
      if (total !== undefined && Number.isFinite(total)) {
        const x = logX(total, tLo, tHi, tx0, tx1);
        el.push(`<rect x="${tx0}" y="${y - 8}" width="${Math.max(1, x - tx0).toFixed(1)}" height="16" fill="${sys.color}" fill-opacity="0.8"/>`);
        text(x + 4, y + 4, `${sys.name} ${fmt(total)} s`, 'font-size="10"');
      }
    });
    const airflow = AIRFLOW_TOTAL_LAG_S[shape];
    for (const [label, v] of [['1.10.10', airflow.v1_10_10], ['2.0β', airflow.v2_0_beta]] as const) {
      const x = logX(v, tLo, tHi, tx0, tx1);
      el.push(`<line x1="${x.toFixed(1)}" y1="${y0 + 6}" x2="${x.toFixed(1)}" y2="${y0 + rowH - 6}" stroke="#d62728" stroke-dasharray="4 3"/>`);
      text(x - 14, y0 + 6, `Airflow ${label}`, 'font-size="9" fill="#d62728"');
    }
    const floor = lag?.metrics.find((m) => m.key === `${shape} floor total lag`)?.floe.median;
    if (floor !== undefined && Number.isFinite(floor)) {
      const x = logX(floor, tLo, tHi, tx0, tx1);
      el.push(`<line x1="${x.toFixed(1)}" y1="${y0 + 10}" x2="${x.toFixed(1)}" y2="${y0 + rowH - 6}" stroke="${FLOOR_COLOR}" stroke-width="2"/>`);
      text(x - 10, y0 + 6, `floor ${fmt(floor)} s`, `font-size="9" fill="${FLOOR_COLOR}"`);
    }
  });
  const legendW = 120;
  systems.forEach((sys, j) => {
    el.push(`<rect x="${dx0 + j * legendW}" y="${H - 22}" width="12" height="12" fill="${sys.color}"/>`);
    text(dx0 + 16 + j * legendW, H - 12, sys.name + (sys.series === undefined || Object.keys(sys.series).length === 0 ? ' (not run)' : ''));
  });
  const airflowX = dx0 + systems.length * legendW;
  el.push(`<line x1="${airflowX}" y1="${H - 16}" x2="${airflowX + 24}" y2="${H - 16}" stroke="#d62728" stroke-dasharray="4 3"/>`);
  text(airflowX + 30, H - 12, "Airflow's published total lag");
  const floorX = airflowX + 210;
  el.push(`<line x1="${floorX}" y1="${H - 22}" x2="${floorX}" y2="${H - 10}" stroke="${FLOOR_COLOR}" stroke-width="2"/>`);
  text(floorX + 6, H - 12, 'floor: no engine (local mode)');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...el,
    '</svg>',
    '',
  ].join('\n');
}
