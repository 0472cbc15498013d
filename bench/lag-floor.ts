/**
 * The floor under task lag on this machine: the task-lag shapes through floe's topology
 * with none of floe in it. This process (the client) sends a shape's tasks as pairs of
 * indices (the task, its input) in the pieces floe's client cuts (client/submit-pieces.ts),
 * through a nats-server of its own, to a hub process that deals whole flows to two node
 * processes in turn; a node runs what it is dealt on a one-thread Piscina pool in chunks of
 * up to the worker's batch size (DEFAULT_BATCH.tasksMax), posted to the thread as they come
 * as floe's workers pipeline their batches, each task unpacking its input and
 * packing a stamp with msgpackr as floe's stamp task does, and publishes each chunk's
 * results to the client. No scheduler, no task state, no completion reports, no futures:
 * what the processes, the messages and the pool cost on this machine, at this hour. The
 * task-lag scenario measures it beside floe in local mode, as the transfer scenario copies
 * over raw TCP beside floe's transfer.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clusterNodeFlags } from '../cluster/node-flags.ts';
import { startNatsServer } from '../cluster/nats-server.ts';
import { FIRST_PIECE_TASKS, nextPieceTasks, pieceEnd } from '../src/client/submit-pieces.ts';
import { startSibling, type SiblingChild } from './child.ts';
import { FLOOR_NODES, FLOOR_SUBJECTS, floorPackr, NO_INPUT, type FloorPiece, type FloorTask } from './lag-floor-wire.ts';
import { flatten, lagShape, taskLag, type LagShape, type TimedTask } from './stats.ts';
import { systemClock } from '../src/util/clock.ts';

/** A round whose results are not all back by then failed (a node died, a message was lost). */
const ROUND_TIMEOUT_MS = 30_000;
/**
 * Idle time before each measured round, then a request answered by the hub: how floe's
 * measured rounds start, after the let-go (bench/let-go.ts) has left the cluster idle but
 * for status requests every 20 ms, the last one answered just before the submit call.
 * Rounds back to back start on CPUs still awake; after an idle pause they may not, and on a
 * virtual machine an idle CPU can take milliseconds to come back (`bench/cpu-wake.ts`). On
 * 2026-12-06, linear-100x10 on the floor (medians of 7 reps, two alternated pairs): back to
 * back 0.156 and 0.138 s, started so 0.186 and 0.153; after a pause of 300 ms with no
 * request, 0.24 against 0.14.
 */
const SETTLE_IDLE_MS = 100;
const PING_TIMEOUT_MS = 10_000;

/** A shape's tasks in submission order (flow after flow), and its tasks for taskLag. Each has one input at most. */
function floorTasks(shape: LagShape): { tasks: FloorTask[]; timed: TimedTask[] } {
  const graph = flatten(lagShape(shape));
  const tasks = graph.map(({ deps }, index): FloorTask => {
    if (deps.length > 1) throw new Error(`lag floor: ${shape} has a task with ${deps.length} inputs; the floor passes one at most`);
    return [index, deps[0] ?? NO_INPUT];
  });
  return { tasks, timed: graph.map(({ deps }) => ({ deps, startMs: 0, endMs: 0 })) };
}

/** The floor's processes: a nats-server, the hub and the nodes, and this process's connection. */
class Floor {
  private waiting: { left: number; done: () => void } | undefined;
  private timed: TimedTask[] = [];
  private rounds = 0;

  private constructor(
    private readonly stopServer: () => Promise<void>,
    private readonly children: SiblingChild[],
    private readonly nc: NatsConnection,
  ) {
    nc.subscribe(FLOOR_SUBJECTS.client, { callback: (_error, msg) => this.onResults(msg.data) });
  }

  static async start(): Promise<Floor> {
    const server = await startNatsServer();
    const children: SiblingChild[] = [];
    try {
      children.push(await startSibling('lag-floor-hub', { url: server.url }, clusterNodeFlags('coordinator', [], '')));
      for (let i = 0; i < FLOOR_NODES; i++) children.push(await startSibling('lag-floor-node', { url: server.url, index: i }, clusterNodeFlags('worker', [], '')));
      const nc = await connect({ servers: server.url });
      await nc.flush();
      return new Floor(() => server.stop(), children, nc);
    } catch (error) {
      await Promise.all(children.map((c) => c.stop()));
      await server.stop();
      throw error;
    }
  }

  /** Total task lag (s) of one round of `shape`, submitted at once; `settled`: after an idle pause and a ping, as floe's measured rounds start. */
  async round(shape: LagShape, settled = false): Promise<number> {
    const { tasks, timed } = floorTasks(shape);
    if (settled) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_IDLE_MS));
      await this.nc.request(FLOOR_SUBJECTS.ping, undefined, { timeout: PING_TIMEOUT_MS });
    }
    this.timed = timed;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
      this.waiting = { left: tasks.length, done: resolve };
      timer = setTimeout(() => reject(new Error(`lag floor: ${this.waiting!.left} of ${tasks.length} ${shape} results not back after ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
    });
    const round = this.rounds++;
    const submitMs = systemClock.now();
    for (let from = 0, size = FIRST_PIECE_TASKS; from < tasks.length; size = nextPieceTasks(size)) {
      const end = pieceEnd(tasks.length, from, size, (k) => tasks[k]![1] !== NO_INPUT);
      this.nc.publish(FLOOR_SUBJECTS.hub, floorPackr.pack({ round, tasks: tasks.slice(from, end) } satisfies FloorPiece));
      // As floe's client: each piece goes out while the rest is cut.
      void this.nc.flush().catch(() => undefined);
      from = end;
    }
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
    return taskLag(timed, submitMs).totalS;
  }

  private onResults(data: Uint8Array): void {
    const out = floorPackr.unpack(data) as unknown[];
    for (let i = 0; i < out.length; i += 2) {
      const stamp = floorPackr.unpack(out[i + 1] as Uint8Array) as { s: number; e: number };
      const task = this.timed[out[i] as number]!;
      task.startMs = stamp.s;
      task.endMs = stamp.e;
    }
    const waiting = this.waiting!;
    waiting.left -= out.length / 2;
    if (waiting.left === 0) waiting.done();
  }

  async stop(): Promise<void> {
    await this.nc.close();
    await Promise.all(this.children.map((c) => c.stop()));
    await this.stopServer();
  }
}

/**
 * Total task lag (s) of one round of each shape on the floor, after `warmupRounds` rounds
 * of every shape (fresh processes run several times slower until V8 has compiled their
 * paths, as floe's cluster does); each measured round starts after an idle pause and a
 * ping, as floe's do after the let-go (SETTLE_IDLE_MS). Everything it starts is stopped
 * before it returns.
 */
export async function lagFloor(shapes: readonly LagShape[], warmupRounds: number): Promise<Partial<Record<LagShape, number>>> {
  const floor = await Floor.start();
  try {
    for (let i = 0; i < warmupRounds; i++) for (const shape of shapes) await floor.round(shape);
    const out: Partial<Record<LagShape, number>> = {};
    for (const shape of shapes) out[shape] = await floor.round(shape, true);
    return out;
  } finally {
    await floor.stop();
  }
}
