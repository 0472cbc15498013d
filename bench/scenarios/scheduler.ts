/**
 * scheduler: the pure scheduler state machine alone, with simulated workers that finish
 * every task the moment it is assigned (so only the scheduler is measured). Steals are
 * answered `stealRefused` (every task "starts" at once). `independent`: N root tasks, all
 * wanted, released at the end; `chains`: N/10 chains of 10, only the tails wanted.
 * Completions are fed back in batches of up to 1000 events per `handle()` call, as the
 * coordinator does once per event-loop turn. µs per task covers submission through release;
 * bytes per task is the retained heap while the whole graph is held (a second run with no
 * workers, after GC).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerEvent } from '../../src/scheduler/types.ts';
import { clusterNodeFlags } from '../../cluster/node-flags.ts';
import { startSibling } from '../child.ts';
import type { Scenario } from '../harness.ts';
import { sizeLabel } from './throughput.ts';

const WORKERS = 16;
const THREADS = 4;
const SUBMIT_BATCH = 10_000;
const EVENT_BATCH = 1000;
const PENDING_KEPT_MAX = 16 * EVENT_BATCH;
const CLIENT = 'c';
const serializer = { id: 'msgpack', module: '' };
const args = new Uint8Array();

interface Graph {
  batches: TaskSpec[][];
  wants: string[][];
  keys: string[];
  tasks: number;
}

export interface SchedulerRun {
  tasks: number;
  submitUs: number;
  runUs: number;
  releaseUs: number;
  totalUs: number;
  heapBytesPerTask: number;
}

export interface SchedulerRaw {
  n: number;
  independent: SchedulerRun;
  chains: SchedulerRun;
}

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function spec(key: string, deps: string[]): TaskSpec {
  return {
    key,
    name: 'f',
    module: 'file:///bench.js',
    exportName: 'f',
    args,
    deps,
    serializer,
    priority: 0,
    retries: 0,
    retryDelayMs: 0,
    retryBackoff: 2,
    timeoutMs: 0,
    resources: {},
  };
}

export function independentGraph(n: number): Graph {
  const g: Graph = { batches: [], wants: [], keys: [], tasks: n };
  for (let i = 0; i < n; i += SUBMIT_BATCH) {
    const batch: TaskSpec[] = [];
    for (let j = i; j < Math.min(n, i + SUBMIT_BATCH); j++) batch.push(spec(`t${j}`, []));
    g.batches.push(batch);
    g.wants.push(batch.map((s) => s.key));
    for (const s of batch) g.keys.push(s.key);
  }
  return g;
}

export function chainGraph(n: number, length = 10): Graph {
  const g: Graph = { batches: [], wants: [], keys: [], tasks: 0 };
  let batch: TaskSpec[] = [];
  let wants: string[] = [];
  for (let c = 0; c * length < n; c++) {
    for (let j = 0; j < length; j++) batch.push(spec(`c${c}-${j}`, j === 0 ? [] : [`c${c}-${j - 1}`]));
    wants.push(`c${c}-${length - 1}`);
    if (batch.length >= SUBMIT_BATCH) {
      g.batches.push(batch);
      g.wants.push(wants);
      batch = [];
      wants = [];
    }
  }
  if (batch.length > 0) {
    g.batches.push(batch);
    g.wants.push(wants);
  }
  for (const w of g.wants) g.keys.push(...w);
  g.tasks = g.batches.reduce((k, b) => k + b.length, 0);
  return g;
}

let stimulus = 0;
const sid = (): string => `s${++stimulus}`;

function collect(out: SchedulerCommand[], pending: SchedulerEvent[]): void {
  for (const c of out) {
    if (c.type === 'steal') {
      pending.push({ type: 'stealRefused', stimulusId: sid(), nowMs: 0, workerId: c.workerId, id: c.id, runId: c.runId });
      continue;
    }
    if (c.type !== 'assign') continue;
    pending.push({
      type: 'taskFinished',
      stimulusId: sid(),
      nowMs: 0,
      workerId: c.workerId,
      id: c.id,
      runId: c.runId,
      nbytes: 8,
      serializer,
      inline: undefined,
      durationMs: 0,
    });
  }
}

/** Pushes one graph through a fresh scheduler, then measures its held memory. */
export function runGraph(name: string, graph: Graph, stealing = true): SchedulerRun {
  const gc = gcFunction();
  gc();
  const s = new Scheduler({ stealing });
  const pending: SchedulerEvent[] = [];
  const t0 = performance.now();
  for (let w = 0; w < WORKERS; w++) {
    collect(s.handle({ type: 'workerJoined', stimulusId: sid(), nowMs: 0, workerId: `w${w}`, threads: THREADS, resources: {}, address: `w${w}` }), pending);
  }
  for (let b = 0; b < graph.batches.length; b++) {
    const ev: SchedulerEvent = { type: 'graphSubmitted', stimulusId: sid(), nowMs: 0, clientId: CLIENT, requestId: `r${b}`, tasks: graph.batches[b]!, wants: graph.wants[b]! };
    collect(s.handle(ev), pending);
  }
  const t1 = performance.now();
  let head = 0;
  while (head < pending.length) {
    const batch = pending.slice(head, head + EVENT_BATCH);
    head += batch.length;
    collect(s.handle(...batch), pending);
    // Drop handled events, as a driver would: kept, they would all survive into the old
    // generation and the GC cost of that would be billed to the scheduler.
    if (head > PENDING_KEPT_MAX) {
      pending.splice(0, head);
      head = 0;
    }
  }
  const t2 = performance.now();
  s.handle({ type: 'keysReleased', stimulusId: sid(), nowMs: 0, clientId: CLIENT, keys: graph.keys });
  const t3 = performance.now();
  if (s.size !== 0) throw new Error(`scheduler ${name}: still holds ${s.size} tasks`);

  gc();
  const base = process.memoryUsage().heapUsed;
  const held = new Scheduler();
  for (let b = 0; b < graph.batches.length; b++) {
    held.handle({ type: 'graphSubmitted', stimulusId: sid(), nowMs: 0, clientId: CLIENT, requestId: `r${b}`, tasks: graph.batches[b]!, wants: graph.wants[b]! });
  }
  gc();
  const heapBytesPerTask = (process.memoryUsage().heapUsed - base) / graph.tasks;
  if (held.size !== graph.tasks) throw new Error(`scheduler ${name}: expected ${graph.tasks} records, got ${held.size}`);
  const us = (ms: number): number => (ms * 1000) / graph.tasks;
  return { tasks: graph.tasks, submitUs: us(t1 - t0), runUs: us(t2 - t1), releaseUs: us(t3 - t2), totalUs: us(t3 - t0), heapBytesPerTask };
}

const size = (quick: boolean): number => (quick ? 50_000 : 1_000_000);

/**
 * The warm-up: one graph of each shape this big. A 10k graph left the hot paths half
 * compiled: a quick run then measured 14–15 µs per task where a warm scheduler takes 7–8
 * (and run in the bench process after the other scenarios, 10–12).
 */
export const SCHEDULER_WARMUP_TASKS = 100_000;

export const schedulerScenario: Scenario<SchedulerRaw> = {
  name: 'scheduler',
  title: 'Scheduler state machine alone (16 simulated workers × 4 threads)',
  warmup: false, // each run is a fresh process that warms up first (bench/scheduler-child.ts)
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) =>
    `${sizeLabel(size(quick))} tasks per graph${quick ? ' (full: 1M)' : ''}; independent and chains of 10; ` +
    `each run in a fresh process with the coordinator's V8 flags, after a warm-up of ${sizeLabel(SCHEDULER_WARMUP_TASKS)} of each`,
  dask: false,
  metrics: () => [
    { key: 'independent', unit: 'µs/task', better: 'lower', target: { value: 5, text: '≤ 5 µs' } },
    { key: 'chains', unit: 'µs/task', better: 'lower', target: { value: 5, text: '≤ 5 µs' } },
    { key: 'independent held', unit: 'B/task', better: 'lower' },
    { key: 'chains held', unit: 'B/task', better: 'lower' },
  ],
  async run(ctx) {
    const child = await startSibling('scheduler-child', { n: size(ctx.quick) }, clusterNodeFlags('coordinator', [], ''));
    try {
      return JSON.parse(child.line) as SchedulerRaw;
    } finally {
      await child.stop();
    }
  },
  measure: (raw) => ({
    values: {
      independent: raw.independent.totalUs,
      chains: raw.chains.totalUs,
      'independent held': raw.independent.heapBytesPerTask,
      'chains held': raw.chains.heapBytesPerTask,
    },
  }),
};
