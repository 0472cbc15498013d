// The benchmark harness's pure parts: task lag, statistics, table/JSON/SVG rendering.
// No timing here: the numbers are fixed inputs.
import t from 'tap';
import { combine, type ScenarioResult } from '../../bench/harness.ts';
import { fmt, logX, renderJson, renderSvg, renderTable, verdict, type BenchReport } from '../../bench/render.ts';
import { LATENCY_WARMUP_COUNT, LATENCY_WARMUP_MAX_MS, warmingUp } from '../../bench/scenarios/latency.ts';
import { flatten } from '../../bench/scenarios/task-lag.ts';
import { LAG_SHAPES, lagShape, lagShapeArg, pairedRatio, quantile, rootStartsMs, stretches, stretchesByPid, stretchTimes, summarize, taskLag } from '../../bench/stats.ts';

t.test('quantiles interpolate between ranks; summaries give median and spread', async (t) => {
  t.equal(quantile([3, 1, 2], 0.5), 2);
  t.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  t.equal(quantile([0, 10], 0.99), 9.9);
  t.ok(Number.isNaN(quantile([], 0.5)));
  t.same(summarize([5, 1, 3]), { median: 3, min: 1, max: 5, p25: 2, p75: 4, n: 3 });
});

t.test('the latency warm-up ends after its round trips or its time, whichever comes first', async (t) => {
  const now = performance.now();
  t.ok(warmingUp(0, now), 'goes on at the start');
  t.ok(warmingUp(LATENCY_WARMUP_COUNT - 1, now), 'goes on one round trip short of the count');
  t.notOk(warmingUp(LATENCY_WARMUP_COUNT, now), 'ends at the count');
  t.notOk(warmingUp(10, now - LATENCY_WARMUP_MAX_MS - 1), 'ends when the time is up, whatever the count');
  t.ok(warmingUp(49, now, 50, Infinity), 'a count given by the caller, without a limit in time');
  t.notOk(warmingUp(50, now, 50, Infinity));
});

t.test('paired ratios: B against A run by run, with an interval that says when the runs cannot tell them apart', async (t) => {
  // The machine drifts (A doubles halfway) and B is 10% lower in every pair: the runs
  // spread over a factor of two, and yet the pairs pin the change down.
  const a = [10, 11, 10, 12, 10, 20, 22, 20, 21, 20];
  const b = a.map((x) => x * 0.9);
  const drifting = pairedRatio(a, b);
  t.equal(drifting.n, 10);
  t.equal(drifting.bLower, 10);
  t.ok(Math.abs(drifting.median - 0.9) < 1e-12, 'the paired median is the change');
  t.ok(Math.abs(drifting.low - 0.9) < 1e-12 && Math.abs(drifting.high - 0.9) < 1e-12, 'an exact interval when every pair agrees');

  // The same build on both sides: noise either way, the interval holds 1.
  const noise = [1.1, 0.9, 1.05, 0.95, 1.2, 0.85, 1.0, 1.02, 0.98, 1.1, 0.92, 1.03];
  const same = pairedRatio(noise.map(() => 1), noise);
  t.ok(same.low < 1 && same.high > 1, `the interval (${same.low}–${same.high}) holds 1`);
  t.equal(same.bLower, 5);

  // Reproducible: the same runs give the same interval.
  t.same(pairedRatio(noise.map(() => 1), noise), same);

  // Pairs beyond the shorter side, and runs that measured nothing, are left out.
  const partial = pairedRatio([2, 0, 4, 8], [1, 1, Number.NaN]);
  t.equal(partial.n, 1);
  t.equal(partial.median, 0.5);
  t.ok(Number.isNaN(pairedRatio([], []).median));
});

t.test('task lag: roots from submit, others from the latest upstream end', async (t) => {
  // 0 → 2 ← 1 (task 2 waits for both), submitted at 100.
  const tasks = [
    { deps: [], startMs: 101, endMs: 105 },
    { deps: [], startMs: 103, endMs: 110 },
    { deps: [0, 1], startMs: 112, endMs: 113 },
  ];
  const lag = taskLag(tasks, 100);
  t.same(lag.lagsMs, [1, 3, 2]);
  t.equal(lag.totalS, 0.006);
  t.equal(lag.medianMs, 2);
  t.equal(lag.wallS, 0.013);
  // Clock jitter between processes never yields a negative lag.
  t.same(taskLag([{ deps: [], startMs: 99.9, endMs: 100 }], 100).lagsMs, [0]);
  t.throws(() => taskLag([{ deps: [3], startMs: 1, endMs: 2 }], 0), /upstream 3/);
});

t.test('root starts: the tasks without upstream tasks, after the submit time, in task order', async (t) => {
  const tasks = [
    { deps: [], startMs: 101, endMs: 102 },
    { deps: [0], startMs: 105, endMs: 106 },
    { deps: [], startMs: 104, endMs: 110 },
  ];
  t.same(rootStartsMs(tasks, 100), [1, 4]);
  t.same(rootStartsMs([{ deps: [0], startMs: 1, endMs: 2 }], 0), [], 'no roots');
});

t.test("a thread's runs group into stretches of work, split where it waited at least the gap", async (t) => {
  const runs = [
    { index: 7, startMs: 10.3, endMs: 10.4 },
    { index: 2, startMs: 10, endMs: 10.1 },
    { index: 5, startMs: 10.15, endMs: 10.25 },
    { index: 9, startMs: 12, endMs: 12.5 },
  ];
  t.same(stretches(runs, 0.1), [
    { startMs: 10, endMs: 10.4, runs: 3, first: 2, last: 7 },
    { startMs: 12, endMs: 12.5, runs: 1, first: 9, last: 9 },
  ], 'sorted by start; runs 0.05 ms apart are one stretch, 1.5 ms apart are not');
  t.equal(stretches(runs, 0.04).length, 4, 'a smaller gap splits them all');
  t.same(stretches([], 0.1), [], 'no runs, no stretches');
  const byPid = stretchesByPid([{ s: 1, e: 2, pid: 8 }, { s: 1, e: 3, pid: 9 }, { s: 2.01, e: 4, pid: 8 }], 0.1);
  t.same([...byPid.keys()], [8, 9]);
  t.same(byPid.get(8), [{ startMs: 1, endMs: 4, runs: 2, first: 0, last: 2 }], 'task indices are the stamps\' positions');
  t.same(byPid.get(9), [{ startMs: 1, endMs: 3, runs: 1, first: 1, last: 1 }]);
  t.same(stretchTimes(byPid), { runMs: 2.5, waitMs: 0 }, 'per process, averaged: (3 + 2) / 2 in stretches, none between');
  const twoStretches = new Map([[1, stretches(runs, 0.1)]]);
  t.same(stretchTimes(twoStretches).waitMs, 12 - 10.4, 'the time between two stretches');
  t.ok(Math.abs(stretchTimes(twoStretches).runMs - 0.9) < 1e-9, 'and the time in them: 0.4 + 0.5');
});

t.test('the Airflow shapes have 1,000 tasks each; trees fan out from the root', async (t) => {
  for (const shape of LAG_SHAPES) t.equal(flatten(lagShape(shape)).length, 1000, shape);
  const tree = lagShape('tree-100x10')[0]!;
  t.same(tree.slice(0, 5), [[], [0], [0], [1], [1]]);
  const chains = flatten(lagShape('linear-10x100'));
  t.same(chains[100], { deps: [] }, 'a new chain starts with a root');
  t.same(chains[101], { deps: [100] }, 'indices are global after flattening');
  t.equal(lagShape('linear-100x10', 0.1).length, 10, 'scaled down (tests run small shapes)');
  t.equal(lagShapeArg(undefined), 'linear-100x10', 'a tool without a shape argument runs the first shape');
  t.equal(lagShapeArg('tree-100x10'), 'tree-100x10');
  t.throws(() => lagShapeArg('tree-10'), /unknown shape tree-10 \(linear-100x10, linear-10x100, tree-100x10\)/, 'an unknown one names the shapes there are');
});

function report(): BenchReport {
  const specs = [
    { key: 'linear-100x10 total lag', unit: 's', better: 'lower' as const, target: { value: 0.5, text: '≤ 0.5 s' }, reference: 'Airflow 2.0β 11.6 s' },
    { key: 'linear-100x10 median lag', unit: 'ms', better: 'lower' as const },
    { key: 'measured by nobody', unit: 'µs/task', better: 'lower' as const },
  ];
  const metrics = combine(specs, [
    { values: { 'linear-100x10 total lag': 0.4, 'linear-100x10 median lag': 1 } },
    { values: { 'linear-100x10 total lag': 0.2, 'linear-100x10 median lag': 3 } },
    { values: { 'linear-100x10 total lag': 0.3, 'linear-100x10 median lag': Number.NaN } },
  ]).map((m) => ({ ...m, dask: summarize(m.key.includes('total') ? [60] : []) }));
  const lag: ScenarioResult = {
    name: 'task-lag',
    title: 'Task lag',
    note: 'full size',
    metrics,
    series: { 'linear-100x10': [0.5, 1, 2, 40] },
    daskSeries: { 'linear-100x10': [10, 20, 30] },
    seconds: 12,
  };
  return {
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 4, node: 'v20.0.0', platform: 'linux-x64', date: '2025-01-02T03:04:05.000Z' },
    command: 'floe bench task-lag --quick',
    mode: 'local',
    quick: true,
    warmupSeconds: 5,
    dask: { ran: true, version: '2022.12.1' },
    bullmq: { ran: false, note: 'not run (add --vs-bullmq)' },
    scenarios: [lag, { name: 'scale', title: 'Scale', note: 'quick', metrics: [], series: {}, error: 'boom', seconds: 1 }],
  };
}

t.test('combine: median and spread per metric, non-finite samples left out', async (t) => {
  const [total, median] = report().scenarios[0]!.metrics;
  t.same([total!.floe.median, total!.floe.min, total!.floe.max, total!.floe.n], [0.3, 0.2, 0.4, 3]);
  t.equal(median!.floe.n, 2);
  t.equal(verdict(total!), 'met');
  t.equal(verdict(median!), '', 'no target, no verdict');
});

t.test('table: machine, command, targets, Dask ratio, Airflow reference, failures', async (t) => {
  const table = renderTable(report());
  t.match(table, /2025-01-02, 2 cores \(Test CPU\).*local mode, --quick/);
  t.match(table, /command: floe bench task-lag --quick\nwarm-up: 5 s of mixed work on the shared cluster before its first scenario/);
  t.notMatch(renderTable({ ...report(), warmupSeconds: 0 }), /warm-up:/, 'no warm-up, no line');
  t.match(table, /linear-100x10 total lag\s+s\s+0\.30\s+0\.20–0\.40\s+3\s+≤ 0\.5 s\s+met\s+60\.0\s+0\.0050×\s+Airflow 2\.0β 11\.6 s/);
  t.match(table, /scale — Scale .*\n {2}FAILED: boom/);
  t.notMatch(table, /measured by nobody/, 'a metric with no value from any system has no row');
  t.equal(fmt(123456.7), '123,457');
  t.equal(fmt(0.01234), '0.012');
  t.equal(fmt(Number.NaN), '-');
});

t.test('JSON: the machine and every metric, NaN as null', async (t) => {
  const doc = JSON.parse(renderJson(report()));
  t.equal(doc.machine.cores, 2);
  t.equal(doc.machine.node, 'v20.0.0');
  t.equal(doc.warmupSeconds, 5);
  t.equal(doc.scenarios[0].metrics[0].floe.median, 0.3);
  t.equal(doc.scenarios[0].metrics[1].dask.median, null);
});

t.test('SVG: well-formed, one box per system and shape, Airflow marked', async (t) => {
  const svg = renderSvg(report());
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /<\/svg>\n$/);
  t.equal((svg.match(/fill-opacity="0.35"/g) ?? []).length, 2, 'floe and Dask boxes for the one shape with data');
  t.equal((svg.match(/Airflow 1\.10\.10/g) ?? []).length, 3, 'both Airflow figures marked on every shape');
  t.match(svg, /floe 0\.30 s/);
  t.notMatch(svg, /NaN/);
  t.equal(logX(10, 1, 100, 0, 200), 100);
  t.equal(logX(1e9, 1, 100, 0, 200), 200, 'clamped');
});

t.test('SVG: the lag floor marked on the shapes it was measured for, and nowhere without one', async (t) => {
  const withFloor = report();
  withFloor.scenarios[0]!.metrics.push(...combine([{ key: 'linear-100x10 floor total lag', unit: 's', better: 'lower' }], [{ values: { 'linear-100x10 floor total lag': 0.11 } }]));
  const svg = renderSvg(withFloor);
  t.equal((svg.match(/>floor [\d.]+ s</g) ?? []).length, 1, 'the one shape with a floor');
  t.match(svg, />floor 0\.11 s</);
  t.notMatch(renderSvg(report()), />floor [\d.]+ s</, 'no floor measured (embedded mode): no mark');
  t.notMatch(svg, /NaN/);
});
