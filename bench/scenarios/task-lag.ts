/**
 * task-lag: the three shapes of the Airflow 2.0 scheduler benchmark, each submitted at once.
 * Every task returns its start and end stamps; lag = start − latest upstream end
 * (roots: start − submit). See stats.ts for the definition.
 */
import type { Client, Future, TaskDef } from '../../src/index.ts';
import type { Scenario, Sample, MetricSpec } from '../harness.ts';
import { lagFloor } from '../lag-floor.ts';
import { untilLetGo } from '../let-go.ts';
import { AIRFLOW_TOTAL_LAG_S, flatten, LAG_SHAPES, lagShape, taskLag, type LagShape, type TimedTask } from '../stats.ts';
import { stamp, type Stamp } from '../tasks.ts';
import { systemClock } from '../../src/util/clock.ts';

export interface ShapeRun {
  submitMs: number;
  /** All tasks of all flows of the shape, deps as indices into this list. */
  tasks: TimedTask[];
}

/** floe's rounds per shape; in local mode, also the lag floor's total lag per shape (bench/lag-floor.ts). */
export type TaskLagRaw = Record<LagShape, ShapeRun> & { floorTotalS?: Partial<Record<LagShape, number>> };

/**
 * The warm-up runs every shape at full size this many times (on floe, Dask and BullMQ
 * alike). A fresh floe cluster is several times slower on its first submissions, while V8
 * compiles the hot paths of five processes: on 2 cores, linear-100x10's total lag went
 * 47, 23, 22, 18, 15 s over its first five runs and settled after about fifteen (at 4-6 s
 * when this was measured; the engine has become faster since: 2.5 s on 2026-12-05).
 * `bench/lag-breakdown.ts` measures after the same warm-up. The table is the steady state
 * of a cluster that has been running.
 */
export const WARMUP_ROUNDS = 5;
/** The same warm-up counted in rounds of one shape, as the tools that run one shape warm up (lag-breakdown, lag-timeline, sched-wait). */
export const WARMUP_SHAPE_ROUNDS = WARMUP_ROUNDS * LAG_SHAPES.length;

/**
 * Warm-up rounds of every shape on the lag floor before its measured round (its processes
 * are fresh in every repetition; their first rounds run several times slower, as a fresh
 * cluster's do).
 */
export const FLOOR_WARMUP_ROUNDS = 20;

/** BullMQ 6.7's total lag on the two chain shapes, measured on a 2-core machine (flows of nested jobs). */
const BULLMQ_TOTAL_LAG_S: Partial<Record<LagShape, number>> = { 'linear-100x10': 38.9, 'linear-10x100': 5.1 };

// flatten lives in stats.ts (the lag floor uses it without this scenario's client); kept
// here too for the tools and older builds (side-by-side.ts) that import it from this module.
export { flatten };

/**
 * Submits a flattened shape at once, each task a stamp (or `def`, a stamp with more in it)
 * taking its upstream tasks' futures, in a synchronous loop (how every lag measurement submits).
 */
export function submitShape(client: Client, graph: ReadonlyArray<{ deps: number[] }>, def: TaskDef<[Stamp[]], Stamp> = stamp): Future<Stamp>[] {
  const futures: Future<Stamp>[] = [];
  for (const node of graph) futures.push(client.submit(def, node.deps.map((d) => futures[d]!)));
  return futures;
}

/** The shape's tasks with when each ran, from their stamps (in the graph's order), for taskLag. */
export function timedTasks(graph: ReadonlyArray<{ deps: number[] }>, stamps: readonly Stamp[]): TimedTask[] {
  return graph.map((node, i) => ({ deps: node.deps, startMs: stamps[i]!.s, endMs: stamps[i]!.e }));
}

export const taskLagScenario: Scenario<TaskLagRaw> = {
  name: 'task-lag',
  title: 'Task lag, Airflow scheduler benchmark shapes (1,000 tasks each, all submitted at once)',
  warmup: true,
  reps: (quick) => (quick ? 2 : 5),
  note: () =>
    `100×10 linear, 10×100 linear, 100 binary trees of 10; full size in --quick too; warm-up: ${WARMUP_ROUNDS} full-size rounds; each run once the cluster has let go of the one before; ` +
    `floor: the same rounds through the same processes and hops with no engine (bench/lag-floor.ts), local mode`,
  dask: true,
  params: () => ({ shapes: Object.fromEntries(LAG_SHAPES.map((s) => [s, lagShape(s)])), warmupRounds: WARMUP_ROUNDS }),
  metrics: () => LAG_SHAPES.flatMap((shape): MetricSpec[] => {
    const airflow = AIRFLOW_TOTAL_LAG_S[shape];
    const bullmq = BULLMQ_TOTAL_LAG_S[shape];
    return [
      {
        key: `${shape} total lag`,
        unit: 's',
        better: 'lower',
        target: { value: 0.5, text: '≤ 0.5 s' },
        reference: `Airflow 1.10.10 ${airflow.v1_10_10} s, 2.0β ${airflow.v2_0_beta} s${bullmq === undefined ? '' : `; BullMQ 6.7 ${bullmq} s`}`,
      },
      { key: `${shape} median lag`, unit: 'ms', better: 'lower' },
      { key: `${shape} p99 lag`, unit: 'ms', better: 'lower' },
      { key: `${shape} wall`, unit: 's', better: 'lower' },
      { key: `${shape} floor total lag`, unit: 's', better: 'lower', reference: 'nats-server, a hub and 2 nodes × 1 pool thread passing the tasks, no engine' },
      { key: `${shape} total lag / floor`, unit: '×', better: 'lower', reference: "floe's total lag over the floor's in the same run: what the engine adds, whatever the machine's speed" },
    ];
  }),
  async run(ctx) {
    const client = await ctx.client();
    const raw = {} as TaskLagRaw;
    for (let round = 0; round < (ctx.warmup ? WARMUP_ROUNDS : 1); round++) {
      for (const shape of LAG_SHAPES) {
        const graph = flatten(lagShape(shape, 1));
        const submitMs = systemClock.now();
        const futures = submitShape(client, graph);
        const stamps = await client.gather(futures);
        for (const f of futures) f.release();
        raw[shape] = { submitMs, tasks: timedTasks(graph, stamps) };
        await untilLetGo(client, 'task-lag');
      }
    }
    if (!ctx.warmup && ctx.mode === 'local') raw.floorTotalS = await lagFloor(LAG_SHAPES, FLOOR_WARMUP_ROUNDS);
    return raw;
  },
  measure(raw): Sample {
    const sample: Sample = { values: {}, series: {} };
    for (const shape of LAG_SHAPES) {
      const run = raw[shape];
      if (run === undefined) continue;
      const lag = taskLag(run.tasks, run.submitMs);
      sample.values[`${shape} total lag`] = lag.totalS;
      sample.values[`${shape} median lag`] = lag.medianMs;
      sample.values[`${shape} p99 lag`] = lag.p99Ms;
      sample.values[`${shape} wall`] = lag.wallS;
      sample.series![shape] = lag.lagsMs;
      const floor = raw.floorTotalS?.[shape];
      if (floor !== undefined) {
        sample.values[`${shape} floor total lag`] = floor;
        if (floor > 0) sample.values[`${shape} total lag / floor`] = lag.totalS / floor;
      }
    }
    return sample;
  },
};
