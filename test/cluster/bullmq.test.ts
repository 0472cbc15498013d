// A tiny `--vs-bullmq` run against a real redis-server and 2 real BullMQ worker processes:
// every scenario produces raws that floe's measure() accepts, chains run in order, and no
// process is left behind. Behaviour only: no speed is asserted.
import t from 'tap';
import { findBullmq, runBullmq } from '../../bench/bullmq.ts';
import { latencyScenario } from '../../bench/scenarios/latency.ts';
import { flatten, taskLagScenario, type ShapeRun } from '../../bench/scenarios/task-lag.ts';
import { throughputScenario } from '../../bench/scenarios/throughput.ts';
import { lagShape } from '../../bench/stats.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const found = await findBullmq();

t.test('BullMQ side on a private redis-server: raws, order, cleanup', async (t) => {
  // Like nats-server for the cluster tests, redis-server is a prerequisite (.ci/run installs
  // it): without it this test fails and says what to install, rather than skipping.
  if ('missing' in found) {
    t.fail(`cannot run the BullMQ comparison: ${found.missing}`);
    return;
  }
  const pids: number[] = [];
  const logs: string[] = [];
  t.teardown(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const shapes = { 'linear-100x10': lagShape('linear-100x10', 0.03), 'linear-10x100': lagShape('linear-10x100', 0.2), 'tree-100x10': lagShape('tree-100x10', 0.03) };
  const out = await runBullmq(
    { quick: true, warmupSeconds: 0.1, reps: { throughput: 1, latency: 1, 'task-lag': 1, recovery: 1 }, params: { throughput: { sizes: [300] }, latency: { count: 5 }, 'task-lag': { shapes } } },
    found,
    (_kill, pid) => {
      pids.push(pid);
      return () => undefined;
    },
    (line) => void logs.push(line),
  );
  t.ok(logs.some((line) => line.startsWith('bullmq: warm-up')), 'the warm-up ran before the scenarios');
  t.equal(pids.length, 3, 'redis-server and 2 workers');
  t.same(Object.keys(out.scenarios), ['throughput', 'latency', 'task-lag'], 'scenarios without a BullMQ side are left out');
  for (const [name, s] of Object.entries(out.scenarios)) {
    t.equal(s.error, undefined, `${name}: no error`);
    t.equal(s.raws.length, 1, `${name}: one repetition`);
  }
  t.equal(out.version, found.version);

  const tp = throughputScenario.measure(out.scenarios['throughput']!.raws[0] as never);
  t.ok(tp.values['300 no-op']! > 0, 'throughput measured');
  const lat = latencyScenario.measure(out.scenarios['latency']!.raws[0] as never);
  t.equal(lat.series?.['round trip']?.length, 5);

  const lagRaw = out.scenarios['task-lag']!.raws[0] as Record<string, ShapeRun>;
  t.same(Object.keys(lagRaw), ['linear-100x10', 'linear-10x100'], 'chains only');
  for (const [shape, run] of Object.entries(lagRaw)) {
    t.equal(run.tasks.length, flatten(shapes[shape as keyof typeof shapes]).length, `${shape}: every task stamped`);
    // Children run before parents: each link starts after its upstream ended (1 ms of clock jitter allowed).
    const outOfOrder = run.tasks.filter((task) => task.deps.some((d) => task.startMs < run.tasks[d]!.endMs - 1));
    t.same(outOfOrder, [], `${shape}: each task ran after its upstream`);
    t.ok(run.tasks.every((task) => task.startMs >= run.submitMs - 1), `${shape}: nothing ran before the submit`);
  }
  const lag = taskLagScenario.measure(lagRaw as never);
  t.ok(Number.isFinite(lag.values['linear-10x100 total lag']), 'lag measured');
  t.equal(lag.values['tree-100x10 total lag'], undefined, 'no tree on BullMQ');

  t.same(pids.filter(alive), [], 'redis-server and the workers are gone');
});
