/**
 * Node of the task-lag floor (bench/lag-floor.ts), where floe has a worker: runs the tasks
 * it is dealt on a one-thread Piscina pool (bench/lag-floor-pool.ts), in order, in chunks of
 * whole flows of up to the worker's batch size (a longer flow in a chunk of its own), and
 * publishes each chunk's results to the client. The rest of a flow cut between pieces waits
 * for its input's result and takes it along. Prints "ready" and exits when its stdin closes.
 *   node bench/lag-floor-node.js '{"url":"nats://127.0.0.1:4222","index":0}'
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Piscina } from 'piscina';
import { packageRoot } from '../src/util/package-root.ts';
import { DEFAULT_BATCH } from '../src/worker/batching.ts';
import { floorFlows, FLOOR_SUBJECTS, floorPackr, NO_INPUT, type FloorChunk, type FloorPiece, type FloorTask } from './lag-floor-wire.ts';

const { url, index } = JSON.parse(process.argv[2] ?? '{}') as { url: string; index: number };
// As floe's pool (src/worker/executor-pool.ts): the compiled thread code, with no flags of
// this process, and chunks posted to the thread as they come (up to 64 at once), which also
// keeps them in order (with Piscina's default of one at a time, queued runs started out of
// order).
const pool = new Piscina<FloorChunk, unknown[]>({
  filename: join(packageRoot(), 'dist', 'bench', 'lag-floor-pool.js'),
  execArgv: [],
  minThreads: 1,
  maxThreads: 1,
  concurrentTasksPerWorker: 64,
});
const nc = await connect({ servers: url });

/** This round's results, for the rest of flows cut between pieces; and who waits for one. */
let round = -1;
const made = new Map<number, Uint8Array>();
const waiting = new Map<number, () => void>();
/** The chunk before: the next one runs after it (the pool's queue would not keep a waiting chunk's place). */
let last: Promise<void> = Promise.resolve();

function madeHere(out: unknown[]): void {
  for (let i = 0; i < out.length; i += 2) {
    made.set(out[i] as number, out[i + 1] as Uint8Array);
    waiting.get(out[i] as number)?.();
  }
}

/** Runs a chunk once its inputs from outside it (the rest of a flow cut between pieces) are made. */
function run(tasks: FloorTask[]): void {
  const inChunk = new Set(tasks.map(([i]) => i));
  const outside = [...new Set(tasks.map(([, input]) => input))].filter((input) => input !== NO_INPUT && !inChunk.has(input));
  last = last.then(async () => {
    for (const input of outside) {
      if (!made.has(input)) await new Promise<void>((resolve) => waiting.set(input, resolve));
      waiting.delete(input);
    }
    void pool.run({ tasks, inputs: outside.map((input) => [input, made.get(input)!]) }).then(
      (out) => {
        madeHere(out);
        nc.publish(FLOOR_SUBJECTS.client, floorPackr.pack(out));
      },
      (error: unknown) => process.stderr.write(`lag-floor-node: ${String(error)}\n`),
    );
  });
}

nc.subscribe(FLOOR_SUBJECTS.node(index), {
  callback: (_error, msg) => {
    const piece = floorPackr.unpack(msg.data) as FloorPiece;
    if (piece.round !== round) {
      round = piece.round;
      made.clear();
    }
    // Chunks end between flows only: whole flows of up to the batch size, a longer one alone.
    let chunk: FloorTask[] = [];
    for (const flow of floorFlows(piece.tasks)) {
      if (chunk.length > 0 && chunk.length + flow.length > DEFAULT_BATCH.tasksMax) {
        run(chunk);
        chunk = [];
      }
      chunk.push(...flow);
    }
    if (chunk.length > 0) run(chunk);
  },
});
await nc.flush();
process.stdin.on('close', () => void Promise.all([nc.close(), pool.destroy()]).then(() => process.exit(0))).resume();
process.stdout.write('ready\n');
