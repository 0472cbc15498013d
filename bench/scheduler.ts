/**
 * Cost of the pure scheduler per task, with simulated workers that finish every task the
 * moment it is assigned (so only the scheduler is measured).
 *
 *   node --import=tsx bench/scheduler.ts [N]      (N tasks per scenario, default 100000)
 *   STEALING=0 node --import=tsx bench/scheduler.ts   (work stealing off)
 *
 * Steals are answered `stealRefused` (every task "starts" at once).
 * Scenarios: `independent` (N root tasks, all wanted, released at the end) and `chains`
 * (N/10 chains of 10, only the tails wanted). Completions are fed back in batches of up
 * to 1000 events per `handle()` call, as the coordinator does once per event-loop turn.
 * Prints µs per task (submission through release) and retained heap bytes per task
 * while the whole graph is held (measured in a second run with no workers, after GC).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TaskSpec } from '../src/graph/spec.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerEvent } from '../src/scheduler/types.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const N = Number(process.argv[2] ?? 100_000);
const WORKERS = 16;
const THREADS = 4;
const SUBMIT_BATCH = 10_000;
const EVENT_BATCH = 1000;
const CLIENT = 'c';
const serializer = { id: 'msgpack', module: '' };
const args = new Uint8Array();

interface Graph {
  batches: TaskSpec[][];
  wants: string[][];
  keys: string[];
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

function independent(n: number): Graph {
  const g: Graph = { batches: [], wants: [], keys: [] };
  for (let i = 0; i < n; i += SUBMIT_BATCH) {
    const batch: TaskSpec[] = [];
    for (let j = i; j < Math.min(n, i + SUBMIT_BATCH); j++) batch.push(spec(`t${j}`, []));
    g.batches.push(batch);
    g.wants.push(batch.map((s) => s.key));
    for (const s of batch) g.keys.push(s.key);
  }
  return g;
}

function chains(n: number, length = 10): Graph {
  const g: Graph = { batches: [], wants: [], keys: [] };
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
  return g;
}

let stimulus = 0;
const sid = (): string => `s${++stimulus}`;

function collect(out: SchedulerCommand[], pending: SchedulerEvent[]): void {
  for (const c of out) {
    if (c.type === 'steal') {
      // Simulated workers start everything at once: steals are refused.
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

function run(name: string, graph: Graph, tasks: number): void {
  // Time: workers present, graph submitted in batches, completions fed back until done.
  gc();
  const s = new Scheduler({ stealing: process.env.STEALING !== '0' });
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
    if (head > 1_000_000) {
      pending.splice(0, head);
      head = 0;
    }
  }
  const t2 = performance.now();
  s.handle({ type: 'keysReleased', stimulusId: sid(), nowMs: 0, clientId: CLIENT, keys: graph.keys });
  const t3 = performance.now();
  if (s.size !== 0) throw new Error(`${name}: scheduler still holds ${s.size} tasks`);
  const us = (ms: number): string => ((ms * 1000) / tasks).toFixed(2);

  // Memory: the same graph submitted with no workers, so every record is held at once.
  gc();
  const base = process.memoryUsage().heapUsed;
  const held = new Scheduler();
  for (let b = 0; b < graph.batches.length; b++) {
    held.handle({ type: 'graphSubmitted', stimulusId: sid(), nowMs: 0, clientId: CLIENT, requestId: `r${b}`, tasks: graph.batches[b]!, wants: graph.wants[b]! });
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - base) / tasks;
  if (held.size !== tasks) throw new Error(`${name}: expected ${tasks} records, got ${held.size}`);

  console.log(
    `${name.padEnd(12)} ${String(tasks).padStart(8)} tasks  ${us(t3 - t0).padStart(6)} µs/task ` +
      `(submit ${us(t1 - t0)}, run ${us(t2 - t1)}, release ${us(t3 - t2)})  ${Math.round(bytes)} heap B/task held`,
  );
}

console.log(`scheduler bench: ${WORKERS} workers x ${THREADS} threads, node ${process.version}`);
run('independent', independent(N), N);
const chainGraph = chains(N);
run('chains', chainGraph, chainGraph.batches.reduce((n, b) => n + b.length, 0));
