/**
 * Output of a bench run: the stdout table, the JSON document and the SVG chart. Pure
 * functions of the results, so the unit tests render fixed inputs.
 */
import type { Machine, MetricResult, ScenarioResult } from './harness.ts';
import { AIRFLOW_TOTAL_LAG_S, LAG_SHAPES, quantile, type LagShape } from './stats.ts';

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

/** The lag floor's mark on the total-lag axis. */
const FLOOR_COLOR = '#7f7f7f';
const AIRFLOW_COLOR = '#d62728';
const CHART_WIDTH = 960;
/** Where the first shape's row starts (px), below the title and the axis captions. */
const CHART_TOP = 60;

/** One of the chart's two log axes: where it is drawn (px) and the range it shows. */
interface Axis {
  x0: number;
  x1: number;
  lo: number;
  hi: number;
}
/** Per-task lag, ms. */
const DIST_AXIS: Axis = { x0: 150, x1: 560, lo: 0.01, hi: 100_000 };
/** Total lag, s. */
const TOTAL_AXIS: Axis = { x0: 610, x1: 930, lo: 0.01, hi: 1000 };

/** A system drawn in every shape's row: its per-task lags by shape, and its total lag by metric key. */
interface ChartSystem {
  name: string;
  color: string;
  series?: Record<string, number[]>;
  total: (key: string) => number | undefined;
}

/** The chart's elements, in drawing order. */
class Svg {
  readonly el: string[] = [];

  text(x: number, y: number, s: string, extra = ''): void {
    this.el.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`);
  }

  /** Grid lines and labels of one axis, one per power of ten, from `top` down to `bottom`. */
  axis(a: Axis, top: number, bottom: number): void {
    for (let p = Math.log10(a.lo); p <= Math.log10(a.hi) + 1e-9; p++) {
      const x = logX(10 ** p, a.lo, a.hi, a.x0, a.x1);
      this.el.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#ddd"/>`);
      this.text(x - 10, bottom + 14, p >= 0 ? String(10 ** p) : `1e${p}`, 'font-size="10"');
    }
  }
}

/**
 * The task-lag chart: per shape, the per-task lag distribution (box p25–p75, median, whiskers
 * min–p99, log ms) for floe, Dask and BullMQ (chains only); beside it, total lag (log s) with
 * Airflow's published totals marked, and the floor under floe's when it was measured (local
 * mode, bench/lag-floor.ts). Hand-built SVG, no dependency.
 */
export function renderSvg(report: BenchReport): string {
  const lag = report.scenarios.find((s) => s.name === 'task-lag');
  const median = (key: string, side: 'floe' | 'dask' | 'bullmq'): number | undefined => lag?.metrics.find((m) => m.key === key)?.[side]?.median;
  const systems: ChartSystem[] = [
    { name: 'floe', color: '#1f77b4', series: lag?.series, total: (k) => median(k, 'floe') },
    { name: 'Dask', color: '#ff7f0e', series: lag?.daskSeries, total: (k) => median(k, 'dask') },
    { name: 'BullMQ', color: '#2ca02c', series: lag?.bullmqSeries, total: (k) => median(k, 'bullmq') },
  ];
  const rowH = 18 + 26 * systems.length;
  const height = CHART_TOP + LAG_SHAPES.length * rowH + 60;
  const svg = new Svg();
  svg.text(10, 22, `floe task lag — Airflow scheduler benchmark shapes (${report.mode} mode${report.quick ? ', --quick' : ''}, ${report.machine.cores} cores, ${report.machine.date.slice(0, 10)})`, 'font-weight="bold"');
  svg.text(DIST_AXIS.x0, 45, 'per-task lag, ms (log): box p25–p75, line median, whiskers min–p99');
  svg.text(TOTAL_AXIS.x0, 45, 'total lag, s (log)');
  const bottom = CHART_TOP + LAG_SHAPES.length * rowH;
  svg.axis(DIST_AXIS, CHART_TOP - 5, bottom);
  svg.axis(TOTAL_AXIS, CHART_TOP - 5, bottom);
  LAG_SHAPES.forEach((shape, i) => shapeRow(svg, shape, CHART_TOP + i * rowH, rowH, systems, median(`${shape} floor total lag`, 'floe')));
  legend(svg, systems, height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${height}" viewBox="0 0 ${CHART_WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${CHART_WIDTH}" height="${height}" fill="white"/>`,
    ...svg.el,
    '</svg>',
    '',
  ].join('\n');
}

/** One shape's row from `y0`: each system's lag distribution and total, Airflow's totals, and the floor's. */
function shapeRow(svg: Svg, shape: LagShape, y0: number, rowH: number, systems: readonly ChartSystem[], floor: number | undefined): void {
  svg.text(10, y0 + rowH / 2, shape, 'font-size="12"');
  systems.forEach((sys, j) => {
    const y = y0 + 18 + j * 26;
    const values = sys.series?.[shape];
    if (values !== undefined && values.length > 0) {
      const { x0, x1, lo, hi } = DIST_AXIS;
      const [mn, p25, p50, p75, p99] = [0, 0.25, 0.5, 0.75, 0.99].map((q) => logX(quantile(values, q), lo, hi, x0, x1)) as [number, number, number, number, number];
      svg.el.push(`<line x1="${mn.toFixed(1)}" y1="${y}" x2="${p99.toFixed(1)}" y2="${y}" stroke="${sys.color}"/>`);
      svg.el.push(`<rect x="${p25.toFixed(1)}" y="${y - 8}" width="${Math.max(1, p75 - p25).toFixed(1)}" height="16" fill="${sys.color}" fill-opacity="0.35" stroke="${sys.color}"/>`);
      svg.el.push(`<line x1="${p50.toFixed(1)}" y1="${y - 8}" x2="${p50.toFixed(1)}" y2="${y + 8}" stroke="${sys.color}" stroke-width="2"/>`);
    }
    const total = sys.total(`${shape} total lag`);
    if (total !== undefined && Number.isFinite(total)) {
      const x = totalX(total);
      svg.el.push(`<rect x="${TOTAL_AXIS.x0}" y="${y - 8}" width="${Math.max(1, x - TOTAL_AXIS.x0).toFixed(1)}" height="16" fill="${sys.color}" fill-opacity="0.8"/>`);
      svg.text(x + 4, y + 4, `${sys.name} ${fmt(total)} s`, 'font-size="10"');
    }
  });
  const airflow = AIRFLOW_TOTAL_LAG_S[shape];
  for (const [label, v] of [['1.10.10', airflow.v1_10_10], ['2.0β', airflow.v2_0_beta]] as const) {
    const x = totalX(v);
    svg.el.push(`<line x1="${x.toFixed(1)}" y1="${y0 + 6}" x2="${x.toFixed(1)}" y2="${y0 + rowH - 6}" stroke="${AIRFLOW_COLOR}" stroke-dasharray="4 3"/>`);
    svg.text(x - 14, y0 + 6, `Airflow ${label}`, `font-size="9" fill="${AIRFLOW_COLOR}"`);
  }
  if (floor !== undefined && Number.isFinite(floor)) {
    const x = totalX(floor);
    svg.el.push(`<line x1="${x.toFixed(1)}" y1="${y0 + 10}" x2="${x.toFixed(1)}" y2="${y0 + rowH - 6}" stroke="${FLOOR_COLOR}" stroke-width="2"/>`);
    svg.text(x - 10, y0 + 6, `floor ${fmt(floor)} s`, `font-size="9" fill="${FLOOR_COLOR}"`);
  }
}

function totalX(seconds: number): number {
  return logX(seconds, TOTAL_AXIS.lo, TOTAL_AXIS.hi, TOTAL_AXIS.x0, TOTAL_AXIS.x1);
}

/** The systems' colours (those not run say so), Airflow's mark and the floor's, along the bottom. */
function legend(svg: Svg, systems: readonly ChartSystem[], height: number): void {
  const legendW = 120;
  const x0 = DIST_AXIS.x0;
  systems.forEach((sys, j) => {
    svg.el.push(`<rect x="${x0 + j * legendW}" y="${height - 22}" width="12" height="12" fill="${sys.color}"/>`);
    svg.text(x0 + 16 + j * legendW, height - 12, sys.name + (sys.series === undefined || Object.keys(sys.series).length === 0 ? ' (not run)' : ''));
  });
  const airflowX = x0 + systems.length * legendW;
  svg.el.push(`<line x1="${airflowX}" y1="${height - 16}" x2="${airflowX + 24}" y2="${height - 16}" stroke="${AIRFLOW_COLOR}" stroke-dasharray="4 3"/>`);
  svg.text(airflowX + 30, height - 12, "Airflow's published total lag");
  const floorX = airflowX + 210;
  svg.el.push(`<line x1="${floorX}" y1="${height - 22}" x2="${floorX}" y2="${height - 10}" stroke="${FLOOR_COLOR}" stroke-width="2"/>`);
  svg.text(floorX + 6, height - 12, 'floor: no engine (local mode)');
}
