/**
 * What each step on the way from the submit call to the pool thread costs per task, each
 * measured alone in this process (CPU time, nothing else competing), on the tasks of one
 * task-lag shape cut into the pieces the client sends. The total task lag of the shapes
 * with 100 roots waits for this way: a busy loop of 1 µs per task added at one of its steps
 * added 0.04–0.07 s of total lag to linear-100x10 on 2 cores, where the same loop on the way
 * back (completion reports, the client's results) added next to nothing (bench/FINDINGS.md:
 * "Which of that CPU the lag waits for"). The lag itself swings by a third with the machine; these
 * figures move when the work does, so they say which step a change made cheaper.
 *
 * Steps: the client's submit loop (an embedded client: submit calls, arguments and pieces
 * encoded, the pieces handed to its in-process bus); the coordinator decoding the pieces,
 * its scheduler taking them in, the assignments translated and encoded per worker; a
 * worker decoding its batches, its state machine taking them in, the pool batches built
 * and packed; and a pool thread's run of the packed batches (a worker thread of this
 * process running floe's thread entry). Not in it, though on the way: NATS and its
 * clients, the coordinator's outbox and reliable links, and the worker's run records and
 * pool executor (worker/runs.ts, worker/executor-pool.ts: per-run cancel signals and the
 * batch's bookkeeping), whose requests are built here as runs.ts builds them.
 *
 *   node dist/bench/stage-costs.js [shape] [rounds]   (default linear-100x10, 300 rounds after 100)
 *
 * It runs from dist (the pool thread, bench/stage-costs-pool.ts, loads floe's compiled
 * thread entry and the bench's tasks by URL): `npm run build` first. Its process gets the
 * bench client's V8 flags, as the other tools that run a client do (as-client.ts).
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { Worker } from 'node:worker_threads';
import { Client } from '../src/index.ts';
import { wireAssign } from '../src/coordinator/translate.ts';
import { keyOf } from '../src/graph/task-id.ts';
import type { TaskSpec } from '../src/graph/spec.ts';
import { packBatch, type PackedBatch } from '../src/runtime/batch-pack.ts';
import type { ThreadRequest } from '../src/runtime/protocol.ts';
import { isPoolPortMessage } from '../src/runtime/pool-port.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import type { SchedulerCommand } from '../src/scheduler/types.ts';
import { encodeArgs, FutureRef } from '../src/serde/args.ts';
import { streamPieces } from '../src/client/submit-pieces.ts';
import { decodeMessage, encodeMessage } from '../src/transport/codec.ts';
import type { WireAssign } from '../src/transport/messages.ts';
import { WorkerState, type WorkerCommand } from '../src/worker/state.ts';
import { flatten, submitShape } from './scenarios/task-lag.ts';
import { lagShape, lagShapeArg } from './stats.ts';
import { stamp } from './tasks.ts';

const CLIENT = 'c0';
const WORKERS = ['w0', 'w1'];
const serializer = { id: 'msgpack', module: '' };

/**
 * CPU µs of this process while `fn` runs. The steps run one at a time with the pool thread
 * idle, so it is the calling thread's (and V8's helpers', which collect its garbage).
 */
function cpuUs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** One round's specs, as the client builds them (keys unique per round). */
function specsOf(graph: ReadonlyArray<{ deps: number[] }>, round: number): TaskSpec[] {
  const keys = graph.map((_, i) => `stamp-${round}-${i}`);
  return graph.map((node, i) => {
    const refs = node.deps.map((d) => new FutureRef(keys[d]!));
    const args = encodeArgs([refs], (v) => (v instanceof FutureRef ? v : undefined));
    return {
      key: keys[i]!, name: 'stamp', module: stamp.moduleUrl, exportName: 'stamp', args: args.bytes.slice(), deps: args.deps,
      serializer, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
    };
  });
}

/** The thread requests a worker makes for a batch (worker/runs.ts request, inputs handed over in the batch). */
function requestsOf(assigns: readonly WireAssign[]): ThreadRequest[] {
  const index = new Map<string, number>();
  return assigns.map((a, i) => {
    index.set(a.id, i);
    const { spec } = a;
    const deps = a.deps.map((d) => ({ key: keyOf(d.id), serializer: d.serializer, bytes: new Uint8Array(0), from: index.get(d.id) ?? -1 }));
    return { taskKey: spec.key, name: spec.name, module: spec.module, exportName: spec.exportName, args: spec.args, deps, serializer: spec.serializer, attempt: a.attempt };
  });
}

/** Per step, µs of CPU and tasks, summed over the rounds. */
type Costs = Record<string, { us: number; tasks: number }>;

function add(costs: Costs, step: string, us: number, tasks: number): void {
  const c = (costs[step] ??= { us: 0, tasks: 0 });
  c.us += us;
  c.tasks += tasks;
}

/** The coordinator's and a worker's steps for one round; returns the packed batches for the pool thread. */
/**
 * Not measured: the runs finish on the worker state machines (which start the rest of
 * their chains, into `dispatched` through `take`), and are released.
 */
function finishOnWorkers(states: WorkerState[], assigned: WireAssign[][], dispatched: WireAssign[][], take: (out: WorkerCommand[]) => void): void {
  for (let i = 0; i < dispatched.length; i++) {
    for (const a of dispatched[i]!) {
      const state = states.find((s) => s.view().tasks.has(a.id))!;
      take(state.handle({ type: 'executed', stimulusId: 'e', id: a.id, runId: a.runId, outcome: { ok: true, nbytes: 8, serializer }, durationMs: 0.002 }));
    }
  }
  for (const [w, tasks] of assigned.entries()) states[w]!.handle({ type: 'released', stimulusId: 'r', ids: tasks.map((a) => a.id) });
  if (states.some((s) => s.taskCount > 0 || s.heldCount > 0)) throw new Error('a worker state machine still holds tasks after a round');
}

/**
 * Not measured: the scheduler hears the runs finish, and sends what it held back (the rest
 * of a flow cut between pieces; and, until it has seen runs finish, more than
 * saturationWindowMs of work); then the client releases the round.
 */
function finishOnScheduler(scheduler: Scheduler, commands: SchedulerCommand[], specs: TaskSpec[]): void {
  let wave = commands;
  while (wave.length > 0) {
    const finished = wave.flatMap((c) =>
      c.type === 'assign' ? [{ type: 'taskFinished' as const, stimulusId: 'f', nowMs: 0, workerId: c.workerId, id: c.id, runId: c.runId, nbytes: 8, serializer, inline: undefined, durationMs: 0.002 }] : [],
    );
    wave = finished.length === 0 ? [] : scheduler.handle(...finished);
  }
  scheduler.handle({ type: 'keysReleased', stimulusId: 'r', nowMs: 0, clientId: CLIENT, keys: specs.map((s) => s.key) });
  if (scheduler.size !== 0) throw new Error(`the scheduler still holds ${scheduler.size} tasks after a round`);
}

function coordinatorAndWorkers(graph: ReadonlyArray<{ deps: number[] }>, round: number, scheduler: Scheduler, states: WorkerState[], costs: Costs): { packed: PackedBatch[]; sent: number } {
  const specs = specsOf(graph, round);
  const n = specs.length;
  const pieces = streamPieces(specs).map((piece, p) =>
    encodeMessage({ type: 'submit', clientId: CLIENT, requestId: `${round}-${p}`, tasks: piece, wants: piece.map((s) => s.key) }),
  );
  let decoded: ReturnType<typeof decodeMessage>[] = [];
  add(costs, 'coordinator: decode submissions', cpuUs(() => (decoded = pieces.map((m) => decodeMessage(m)))), n);
  const commands: SchedulerCommand[] = [];
  add(costs, 'coordinator: scheduler takes them in', cpuUs(() => {
    decoded.forEach((wire, p) => {
      if (wire.type !== 'submit') throw new Error(`expected a submit, got ${wire.type}`);
      commands.push(...scheduler.handle({ type: 'graphSubmitted', stimulusId: `s${round}-${p}`, nowMs: 0, clientId: CLIENT, requestId: `${CLIENT}:${wire.requestId}`, tasks: wire.tasks, wants: wire.wants }));
    });
  }), n);
  // Per task sent on: a flow cut between pieces has tasks the scheduler sends only once their
  // inputs are done (linear-10x100); they go on unmeasured, with the runs' completions below.
  const sent = commands.filter((c) => c.type === 'assign').length;
  const batches: Uint8Array[] = [];
  add(costs, 'coordinator: assignments encoded', cpuUs(() => {
    const byWorker = new Map<string, WireAssign[]>();
    for (const c of commands) {
      if (c.type !== 'assign') continue;
      let list = byWorker.get(c.workerId);
      if (list === undefined) byWorker.set(c.workerId, (list = []));
      list.push(wireAssign(c, '', (w) => `127.0.0.1:${w}`));
    }
    for (const assign of byWorker.values()) {
      batches.push(encodeMessage({ type: 'workerBatch', assign, cancel: [], release: [], steal: [], replicate: [], retired: false, reregister: false, clientsGone: [], epoch: 1 }));
    }
  }), sent);
  let assigned: WireAssign[][] = [];
  add(costs, 'worker: decode assignments', cpuUs(() => {
    assigned = batches.map((m) => {
      const wire = decodeMessage(m);
      if (wire.type !== 'workerBatch') throw new Error(`expected a workerBatch, got ${wire.type}`);
      return wire.assign;
    });
  }), sent);
  const dispatched: WireAssign[][] = [];
  const take = (out: WorkerCommand[]): void => {
    for (const c of out) {
      if (c.type === 'executeBatch') dispatched.push(c.assigns);
      else if (c.type === 'execute') dispatched.push([c.assign]);
    }
  };
  add(costs, 'worker: state machine takes them in', cpuUs(() => assigned.forEach((tasks, w) => take(states[w]!.handle({ type: 'assigned', stimulusId: 'a', tasks })))), sent);
  finishOnWorkers(states, assigned, dispatched, take);
  const packed: PackedBatch[] = [];
  add(costs, 'worker: pool batches built and packed', cpuUs(() => {
    dispatched.forEach((assigns, b) => packed.push(packBatch(b, requestsOf(assigns), new Int32Array(new SharedArrayBuffer(4 * (assigns.length + 1)))).packed));
  }), sent);
  finishOnScheduler(scheduler, commands, specs);
  return { packed, sent };
}

/** The client's submit loop, on an embedded cluster (its bus delivers in a later microtask). */
async function measureSubmitLoop(graph: ReadonlyArray<{ deps: number[] }>, warmup: number, rounds: number, costs: Costs): Promise<void> {
  const client = await Client.local({ workers: 2, threads: 1 });
  try {
    for (let r = 0; r < warmup + rounds; r++) {
      let futures: ReturnType<typeof submitShape> = [];
      const us = cpuUs(() => (futures = submitShape(client, graph)));
      await client.gather(futures);
      for (const f of futures) f.release();
      if (r >= warmup) add(costs, 'client: submit loop', us, graph.length);
    }
  } finally {
    await client.close();
  }
}

function printCosts(title: string, costs: Costs): void {
  console.log(title);
  let total = 0;
  for (const [step, c] of Object.entries(costs)) {
    const us = c.us / c.tasks;
    total += us;
    console.log(`  ${step.padEnd(42)} ${us.toFixed(3)}`);
  }
  if (!('pool thread: runs' in costs)) console.log('  (the pool thread\'s CPU needs Linux: /proc/thread-self/schedstat)');
  console.log(`  ${'all steps'.padEnd(42)} ${total.toFixed(3)}`);
}

async function main(): Promise<void> {
  const shape = lagShapeArg(process.argv[2]);
  const rounds = Number(process.argv[3] ?? 300);
  const warmup = Math.max(20, Math.floor(rounds / 3));
  const graph = flatten(lagShape(shape, 1));
  const costs: Costs = {};

  await measureSubmitLoop(graph, warmup, rounds, costs);

  const scheduler = new Scheduler();
  for (const workerId of WORKERS) scheduler.handle({ type: 'workerJoined', stimulusId: `j-${workerId}`, nowMs: 0, workerId, threads: 1, resources: {}, address: workerId });
  const states = WORKERS.map(() => new WorkerState({ threads: 1, transfersMax: 4 }));
  const pool = new Worker(new URL('./stage-costs-pool.js', import.meta.url), { execArgv: [] });
  let answered: ((m: { cpuUs: number | undefined }) => void) | undefined;
  pool.on('message', (msg: unknown) => {
    // The thread's own port for results (runtime/pool-port.ts): drained, as a worker's pool would.
    if (isPoolPortMessage(msg)) {
      msg.port.on('message', () => undefined);
      msg.port.unref();
      return;
    }
    answered?.(msg as { cpuUs: number | undefined });
  });
  try {
    const run = (batches: PackedBatch[]): Promise<{ cpuUs: number | undefined }> =>
      new Promise((resolve) => {
        answered = resolve;
        pool.postMessage({ batches });
      });
    // The pool thread's CPU at the start of each measured round, and after the last.
    const poolCpuUs: (number | undefined)[] = [];
    let poolTasks = 0;
    for (let r = 0; r < warmup + rounds; r++) {
      const roundCosts: Costs = {};
      const { packed, sent } = coordinatorAndWorkers(graph, r, scheduler, states, roundCosts);
      const { cpuUs } = await run(packed);
      if (r < warmup) continue;
      poolCpuUs.push(cpuUs);
      poolTasks += sent;
      for (const [step, c] of Object.entries(roundCosts)) add(costs, step, c.us, c.tasks);
    }
    poolCpuUs.push((await run([])).cpuUs);
    const first = poolCpuUs[0];
    const last = poolCpuUs[poolCpuUs.length - 1];
    if (first !== undefined && last !== undefined) add(costs, 'pool thread: runs', last - first, poolTasks);
  } finally {
    await pool.terminate();
  }

  printCosts(`${shape}: CPU µs per task of each step on the way to the pool thread, over ${rounds} rounds after ${warmup}`, costs);
}

await main();
