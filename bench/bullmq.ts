/**
 * The BullMQ side of `--vs-bullmq`: the job queue most Node.js teams reach for, on the same
 * shapes and sizes as floe's throughput, latency and task-lag scenarios. It starts its own
 * redis-server (bench/redis-server.ts) and 2 worker processes (bench/bullmq-worker.ts,
 * concurrency 1 each: 2 workers × 1 thread, like floe's bench cluster), produces from this
 * process, and returns the scenarios' own raw formats, so floe and BullMQ go through one
 * `measure()`.
 *
 * Task lag runs the two linear shapes only: a BullMQ flow is a tree whose children run before
 * their parent, so a chain is a nested flow (the chain's last task is the root), while
 * Airflow's tree fans out from its root and has no flow form.
 *
 * bullmq is a devDependency loaded with `import()`: the published CLI works without it and
 * says what is missing, as it does for Dask and redis-server.
 */
import { createRequire } from 'node:module';
import type { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { startSibling } from './child.ts';
import type { PeerOutput, PeerRequest } from './harness.ts';
import { findRedisServer, REDIS_INSTALL_HINT, redisVersion, startRedisServer } from './redis-server.ts';
import { flatten, type ShapeRun } from './scenarios/task-lag.ts';
import type { ThroughputRaw } from './scenarios/throughput.ts';
import { warmingUp, type LatencyRaw } from './scenarios/latency.ts';
import type { LagShape, TimedTask } from './stats.ts';

export const BULLMQ_INSTALL_HINT = 'bullmq not installed (npm install bullmq ioredis)';
/** The task-lag shapes a flow can express. */
export const BULLMQ_LAG_SHAPES: readonly LagShape[] = ['linear-100x10', 'linear-10x100'];

const QUEUE = 'floe-bench';
const WORKERS = 2;
const ADD_BULK_CHUNK = 1000;
/** BullMQ trims its event stream (default 10,000): longer, so no completion is trimmed unread. */
const EVENTS_MAX_LEN = 1_000_000;
/** A run that is not done by then fails instead of hanging the bench. */
const RUN_TIMEOUT_MS = 300_000;

/** A job of the bench queue: a no-op returning `i`, or a stamp returning its times. */
export interface BullmqJobData {
  kind: 'noop' | 'stamp';
  i: number;
}

/** What a stamp job returns: its task index and when it ran (epoch ms). */
export interface BullmqStamp {
  i: number;
  s: number;
  e: number;
}

/** A flow node as FlowProducer takes it. */
export interface ChainJob {
  name: string;
  queueName: string;
  data: BullmqJobData;
  children?: ChainJob[];
}

/**
 * One linear flow (task k follows task k−1) as a nested BullMQ flow: children run before
 * their parent, so the last task is the root and the first the deepest leaf. `base` is the
 * flow's first global task index.
 */
export function chainFlow(flow: readonly (readonly number[])[], base: number, queueName = QUEUE): ChainJob {
  if (flow.length === 0) throw new Error('bullmq: an empty flow');
  flow.forEach((deps, k) => {
    const link = k === 0 ? deps.length === 0 : deps.length === 1 && deps[0] === k - 1;
    if (!link) throw new Error(`bullmq: task ${k} of a flow is not a link of a chain (deps ${JSON.stringify(deps)})`);
  });
  let node: ChainJob = { name: 'stamp', queueName, data: { kind: 'stamp', i: base } };
  for (let k = 1; k < flow.length; k++) node = { name: 'stamp', queueName, data: { kind: 'stamp', i: base + k }, children: [node] };
  return node;
}

/** Stamps in completion order → the shape's timed tasks, in flatten() order. */
export function stampedTasks(graph: ReadonlyArray<{ deps: number[] }>, stamps: Iterable<BullmqStamp>): TimedTask[] {
  const byIndex = new Map<number, BullmqStamp>();
  for (const st of stamps) byIndex.set(st.i, st);
  return graph.map((node, i) => {
    const st = byIndex.get(i);
    if (st === undefined) throw new Error(`bullmq: no result for task ${i}`);
    return { deps: node.deps, startMs: st.s, endMs: st.e };
  });
}

/** redis-server and the bullmq package, or why the comparison cannot run. */
export async function findBullmq(redisDirs?: readonly string[]): Promise<{ redisServer: string; redis: string; version: string } | { missing: string }> {
  const redisServer = findRedisServer(redisDirs);
  if (redisServer === undefined) return { missing: REDIS_INSTALL_HINT };
  try {
    await import('bullmq');
  } catch {
    return { missing: BULLMQ_INSTALL_HINT };
  }
  const { version } = createRequire(import.meta.url)('bullmq/package.json') as { version: string };
  return { redisServer, redis: redisVersion(redisServer), version };
}

/** Resolves when `n` jobs of the bench queue have completed, with their return values. */
class Completions {
  private waiter: { n: number; values: unknown[]; resolve(v: unknown[]): void; reject(e: Error): void } | undefined;

  constructor(events: QueueEvents) {
    events.on('completed', ({ returnvalue }) => {
      const w = this.waiter;
      if (w === undefined) return;
      w.values.push(returnvalue);
      if (w.values.length >= w.n) this.settle(() => w.resolve(w.values));
    });
    events.on('failed', ({ jobId, failedReason }) => {
      const w = this.waiter;
      if (w !== undefined) this.settle(() => w.reject(new Error(`bullmq job ${jobId} failed: ${failedReason}`)));
    });
  }

  /** Call before adding the jobs, so no completion is missed. */
  expect(n: number): Promise<unknown[]> {
    if (this.waiter !== undefined) throw new Error('bullmq: one run at a time');
    let timer: NodeJS.Timeout | undefined;
    return new Promise<unknown[]>((resolve, reject) => {
      this.waiter = { n, values: [], resolve, reject };
      timer = setTimeout(() => this.settle(() => reject(new Error(`bullmq: ${n} jobs not done after ${RUN_TIMEOUT_MS} ms`))), RUN_TIMEOUT_MS);
    }).finally(() => clearTimeout(timer));
  }

  private settle(done: () => void): void {
    this.waiter = undefined;
    done();
  }
}

interface Ctx {
  queue: Queue;
  flows: FlowProducer;
  completions: Completions;
}

const now = (): number => performance.timeOrigin + performance.now();

async function throughput(ctx: Ctx, params: Record<string, unknown>, warmup: boolean): Promise<ThroughputRaw> {
  const runs: ThroughputRaw['runs'] = [];
  for (const n of warmup ? ((params['warmupSizes'] as number[] | undefined) ?? [1000]) : (params['sizes'] as number[])) {
    const done = ctx.completions.expect(n);
    const t0 = performance.now();
    for (let from = 0; from < n; from += ADD_BULK_CHUNK) {
      const jobs = Array.from({ length: Math.min(ADD_BULK_CHUNK, n - from) }, (_, k) => ({ name: 'noop', data: { kind: 'noop', i: from + k } satisfies BullmqJobData }));
      await ctx.queue.addBulk(jobs);
    }
    const values = await done;
    const seconds = (performance.now() - t0) / 1000;
    if (new Set(values).size !== n) throw new Error(`bullmq throughput: ${new Set(values).size} distinct results of ${n}`);
    runs.push({ n, seconds });
  }
  return { runs };
}

async function latency(ctx: Ctx, params: Record<string, unknown>, warmup: boolean): Promise<LatencyRaw> {
  const roundTripsMs: number[] = [];
  const n = warmup ? ((params['warmupCount'] as number | undefined) ?? 50) : (params['count'] as number);
  const maxMs = warmup ? ((params['warmupMaxMs'] as number | undefined) ?? Infinity) : Infinity;
  const startedMs = performance.now();
  for (let i = 0; warmingUp(i, startedMs, n, maxMs); i++) {
    const done = ctx.completions.expect(1);
    const t0 = performance.now();
    await ctx.queue.add('noop', { kind: 'noop', i } satisfies BullmqJobData);
    const [v] = await done;
    roundTripsMs.push(performance.now() - t0);
    if (v !== i) throw new Error(`bullmq latency: wrong result ${String(v)} for ${i}`);
  }
  return { roundTripsMs };
}

async function taskLag(ctx: Ctx, params: Record<string, unknown>, warmup: boolean): Promise<Partial<Record<LagShape, ShapeRun>>> {
  const shapes = params['shapes'] as Record<LagShape, number[][][]>;
  const raw: Partial<Record<LagShape, ShapeRun>> = {};
  const rounds = warmup ? ((params['warmupRounds'] as number | undefined) ?? 1) : 1;
  for (let round = 0; round < rounds; round++) {
    for (const shape of BULLMQ_LAG_SHAPES) raw[shape] = await lagShapeRun(ctx, shapes[shape]);
  }
  return raw;
}

/** One shape's flows, all added at once; the stamps of every job once all completed. */
async function lagShapeRun(ctx: Ctx, flows: number[][][]): Promise<ShapeRun> {
  const graph = flatten(flows);
  let base = 0;
  const jobs = flows.map((flow) => {
    const job = chainFlow(flow, base);
    base += flow.length;
    return job;
  });
  const done = ctx.completions.expect(graph.length);
  const submitMs = now();
  await ctx.flows.addBulk(jobs);
  return { submitMs, tasks: stampedTasks(graph, (await done) as BullmqStamp[]) };
}

const RUNNERS: Record<string, (ctx: Ctx, params: Record<string, unknown>, warmup: boolean) => Promise<unknown>> = {
  throughput,
  latency,
  'task-lag': taskLag,
};

export const BULLMQ_SCENARIOS: readonly string[] = Object.keys(RUNNERS);

/**
 * Runs the requested scenarios (warm-up, then the repetitions) on a fresh redis-server and
 * 2 worker processes, all stopped before it returns, also when it throws. `onChild` is told
 * how to kill each process by PID at once (Ctrl-C) and returns how to forget it.
 */
export async function runBullmq(
  request: PeerRequest,
  found: { redisServer: string; redis: string; version: string },
  onChild: (kill: () => void, pid: number) => () => void,
  log: (m: string) => void,
): Promise<PeerOutput & { redis: string }> {
  const { Queue, QueueEvents, FlowProducer } = await import('bullmq');
  const stops: Array<() => Promise<void>> = [];
  const out: PeerOutput & { redis: string } = { version: found.version, redis: found.redis, scenarios: {} };
  try {
    const redis = await startRedisServer(found.redisServer);
    const untrackRedis = onChild(() => redis.kill(), redis.pid);
    stops.push(() => redis.stop().finally(untrackRedis));
    log(`  redis-server ${found.redis} up: 127.0.0.1:${redis.port}, pid ${redis.pid}`);
    for (let w = 0; w < WORKERS; w++) {
      const worker = await startSibling('bullmq-worker', { port: redis.port, queue: QUEUE });
      const untrack = onChild(() => worker.child.kill('SIGKILL'), worker.child.pid!);
      stops.push(() => worker.stop().finally(untrack));
    }
    const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
    // Completed jobs are removed, as floe's scenarios release their futures: Redis stays small.
    const queue = new Queue(QUEUE, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } }, defaultJobOptions: { removeOnComplete: true } });
    // From the stream's start ('0-0'), not its end ('$', BullMQ's default): QueueEvents starts
    // reading after waitUntilReady, and completions written before its first read were never
    // seen (1 run in 15-20 of test/cluster/bullmq.test.ts hung in the warm-up, waiting for
    // them). This redis-server is new, so the stream holds only this run's events.
    const events = new QueueEvents(QUEUE, { connection, lastEventId: '0-0' });
    const flows = new FlowProducer({ connection });
    stops.push(() => queue.close(), () => events.close(), () => flows.close());
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), flows.waitUntilReady()]);
    const ctx: Ctx = { queue, flows, completions: new Completions(events) };
    if (request.warmupSeconds > 0) {
      // As floe's cluster warm-up (warm-up.ts): the workers are Node processes too.
      log(`bullmq: warm-up, ${request.warmupSeconds} s of no-op rounds`);
      const until = performance.now() + request.warmupSeconds * 1000;
      do await throughput(ctx, { warmupSizes: [1000] }, true);
      while (performance.now() < until);
    }
    for (const [name, reps] of Object.entries(request.reps)) {
      const run = RUNNERS[name];
      if (run === undefined) continue;
      const params = request.params[name] ?? {};
      const result: { raws: unknown[]; error?: string } = { raws: [] };
      try {
        log(`bullmq ${name}: warm-up`);
        await run(ctx, params, true);
        for (let i = 0; i < reps; i++) {
          log(`bullmq ${name}: run ${i + 1}/${reps}`);
          result.raws.push(await run(ctx, params, false));
        }
      } catch (error) {
        result.error = (error as Error).message;
        log(`bullmq ${name}: FAILED: ${result.error}`);
      }
      out.scenarios[name] = result;
    }
  } finally {
    // Clients first, then workers, redis last.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
  return out;
}
