// The BullMQ side of `floe bench --vs-bullmq`, without Redis: chains as nested flows, task lag
// from the workers' stamps, folding into the results, the table, and the "not installed" path.
import t from 'tap';
import { BULLMQ_LAG_SHAPES, chainFlow, findBullmq, stampedTasks, type ChainJob } from '../../bench/bullmq.ts';
import { addPeerOutput, type ScenarioResult } from '../../bench/harness.ts';
import { REDIS_INSTALL_HINT } from '../../bench/redis-server.ts';
import { renderSvg, renderTable, type BenchReport } from '../../bench/render.ts';
import { flatten, taskLagScenario } from '../../bench/scenarios/task-lag.ts';
import { throughputScenario } from '../../bench/scenarios/throughput.ts';
import { lagShape, taskLag } from '../../bench/stats.ts';

/** Root-first list of a nested flow's task indices (root, its child, …). */
function depthFirst(job: ChainJob): number[] {
  const out: number[] = [];
  for (let node: ChainJob | undefined = job; node !== undefined; node = node.children?.[0]) {
    t.ok((node.children?.length ?? 0) <= 1, 'one child per link');
    out.push(node.data.i);
  }
  return out;
}

t.test('a chain is a nested flow: its last task is the root, its first the deepest child', async (t) => {
  const flow = chainFlow(lagShape('linear-100x10')[0]!, 20, 'q');
  t.same(depthFirst(flow), [29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
  t.equal(flow.queueName, 'q');
  t.same(flow.data, { kind: 'stamp', i: 29 });
  t.same(depthFirst(chainFlow([[]], 7)), [7], 'a one-task flow is a leaf');
  t.throws(() => chainFlow(lagShape('tree-100x10')[0]!, 0), /not a link of a chain/, "Airflow's fan-out tree has no flow form");
  t.throws(() => chainFlow([], 0), /empty flow/);
  t.same(BULLMQ_LAG_SHAPES, ['linear-100x10', 'linear-10x100']);
});

t.test('stamps in any order become the timed tasks of the shape, and lag follows the chain', async (t) => {
  const graph = flatten([[[], [0], [1]], [[], [0]]]); // a chain of 3, a chain of 2
  // Completion order differs from task order; submitted at 100.
  const stamps = [
    { i: 3, s: 101, e: 102 },
    { i: 0, s: 102, e: 103 },
    { i: 4, s: 104, e: 105 },
    { i: 1, s: 108, e: 109 },
    { i: 2, s: 110, e: 111 },
  ];
  const tasks = stampedTasks(graph, stamps);
  t.same(tasks.map((x) => x.deps), [[], [0], [1], [], [3]]);
  t.same(taskLag(tasks, 100).lagsMs, [2, 5, 1, 1, 2]);
  t.throws(() => stampedTasks(graph, stamps.slice(1)), /no result for task 3/);
});

function results(): ScenarioResult[] {
  const empty = (name: string): ScenarioResult => ({ name, title: name, note: '', metrics: [], series: {}, seconds: 1 });
  return [empty('throughput'), empty('task-lag')];
}

/** A --quick report of one scenario, BullMQ run, Dask not. */
function bullmqReport(scenario: ScenarioResult): BenchReport {
  return {
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 4, node: 'v20.0.0', platform: 'linux-x64', date: '2025-01-02T03:04:05.000Z' },
    command: `floe bench ${scenario.name} --vs-bullmq`,
    mode: 'local',
    quick: true,
    warmupSeconds: 5,
    dask: { ran: false },
    bullmq: { ran: true, version: '6.7.0', redis: '7.0.15' },
    scenarios: [scenario],
  };
}

t.test('BullMQ raws go through the scenarios own measure(); the tree shape stays empty', async (t) => {
  const rs = results();
  const chain = (flows: number, len: number) => {
    const graph = flatten(Array.from({ length: flows }, () => Array.from({ length: len }, (_, k) => (k === 0 ? [] : [k - 1]))));
    return { submitMs: 0, tasks: graph.map((n, i) => ({ deps: n.deps, startMs: i * 10 + 1, endMs: i * 10 + 2 })) };
  };
  addPeerOutput('bullmq', rs, [throughputScenario, taskLagScenario], true, {
    version: '6.7.0',
    scenarios: {
      throughput: { raws: [{ runs: [{ n: 2000, seconds: 0.5 }] }, { runs: [{ n: 2000, seconds: 1 }] }] },
      'task-lag': { raws: [{ 'linear-100x10': chain(1, 10), 'linear-10x100': chain(1, 100) }], error: 'one run failed' },
    },
  });
  const [tp, lag] = rs;
  t.same(tp!.metrics.filter((m) => !m.key.startsWith('CPU')).map((m) => [m.key, m.bullmq?.median, m.bullmq?.n]), [['2k no-op', 3000, 2]]);
  const cpuRows = tp!.metrics.filter((m) => m.key.startsWith('CPU'));
  t.ok(cpuRows.length > 0 && cpuRows.every((m) => m.bullmq?.n === 0), 'CPU per task is measured on floe only');
  t.ok(Number.isNaN(tp!.metrics[0]!.floe.median), 'floe side not run here');
  const total = (key: string) => lag!.metrics.find((m) => m.key === key)?.bullmq;
  t.equal(total('linear-100x10 total lag')?.median, 0.082, 'root 1 ms after submit, then 9 ms per link');
  t.equal(total('tree-100x10 total lag')?.n, 0, 'no tree on BullMQ');
  t.same(Object.keys(lag!.bullmqSeries ?? {}), ['linear-100x10', 'linear-10x100']);
  t.equal(lag!.bullmqError, 'one run failed');
  t.equal(lag!.daskSeries, undefined);

  const svg = renderSvg(bullmqReport(lag!));
  t.equal((svg.match(/fill="#2ca02c" fill-opacity="0.35"/g) ?? []).length, 2, 'a BullMQ box on each chain shape');
  t.match(svg, /BullMQ 0\.082 s/);
  t.match(svg, /Dask \(not run\)/);
});

t.test('the table shows BullMQ and floe/BullMQ beside Dask, and why BullMQ did not run', async (t) => {
  const rs = results();
  addPeerOutput('bullmq', rs, [throughputScenario], true, { version: '6.7.0', scenarios: { throughput: { raws: [{ runs: [{ n: 2000, seconds: 1 }] }] } } });
  rs[0]!.metrics = rs[0]!.metrics.map((m) => ({ ...m, floe: { ...m.floe, median: 1000, min: 1000, max: 1000, n: 1 } }));
  const report = bullmqReport(rs[0]!);
  const table = renderTable(report);
  t.match(table, /BullMQ: bullmq 6\.7\.0, redis-server 7\.0\.15 \(2 worker processes × concurrency 1/);
  t.match(table, /metric\s+unit\s+median\s+min–max\s+n\s+target\s+BullMQ\s+floe\/BullMQ\s+reference/);
  t.match(table, /2k no-op\s+tasks\/s\s+1,000\s+1,000–1,000\s+1\s+≥ 50,000\/s\s+MISSED\s+2,000\s+0\.50×\s+BullMQ 6\.7 \(2 cores\): 2,950–5,130\/s/);
  t.notMatch(table, /floe\/Dask/, 'no Dask columns without Dask figures');
  const missing = renderTable({ ...report, bullmq: { ran: false, note: REDIS_INSTALL_HINT } });
  t.match(missing, /BullMQ: redis-server not installed \(apt-get install redis-server\)/);
});

t.test('without redis-server the comparison says how to install it', async (t) => {
  const dir = t.testdir({});
  t.same(await findBullmq([dir]), { missing: REDIS_INSTALL_HINT });
  t.equal(REDIS_INSTALL_HINT, 'redis-server not installed (apt-get install redis-server)');
});
