/**
 * The main thread's side of one task batch on the pool (runtime/run-batch.ts runs it):
 * each run settles once, by its result from the thread, by its cancellation, or by the end
 * of the batch's thread, and its response goes to the batch's callback.
 *
 * A callback, not a promise per run: the results of a batch come in one message, and a
 * promise and its continuation per run cost more than a short task's own work. The
 * callback runs synchronously inside `settle`, so it may cancel another run of the same
 * batch (re-entering `settle` for that run): a run's state is updated before its
 * callback runs, and each run is settled at most once.
 */
import { BATCH_DONE, BATCH_SKIPPED, BATCH_STARTED, BATCH_WAITING } from '../runtime/protocol.ts';
import type { ThreadResponse } from '../runtime/protocol.ts';
import type { BatchRun } from './executor.ts';

export class PendingBatch {
  /** Shared with the thread: who claimed each run (see ThreadBatch.cells). */
  readonly cells: Int32Array;
  /** Each run's response once settled (later runs of the batch may take its result). */
  readonly #responses: (ThreadResponse | undefined)[];
  #open: number;

  constructor(
    readonly runs: readonly BatchRun[],
    /** Called once per run, when it settles, before `onResult` (the executor's own cleanup). */
    private readonly onSettled: (index: number) => void,
    /** Gets each run's response, once. */
    private readonly onResult: (index: number, res: ThreadResponse) => void,
    /** Context ref of run 0; run i's is contextBase + i (when it has a context). */
    readonly contextBase: number,
  ) {
    this.cells = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * runs.length));
    this.#responses = new Array<ThreadResponse | undefined>(runs.length).fill(undefined);
    this.#open = runs.length;
  }

  get done(): boolean {
    return this.#open === 0;
  }

  /** The response run `index` settled with, if it has. */
  response(index: number): ThreadResponse | undefined {
    return this.#responses[index];
  }

  isSettled(index: number): boolean {
    return this.#responses[index] !== undefined;
  }

  /** The first settlement of a run wins; later ones (a result racing its cancel) are dropped. */
  settle(index: number, res: ThreadResponse): void {
    if (this.#responses[index] !== undefined) return;
    this.#responses[index] = res;
    this.#open -= 1;
    this.onSettled(index);
    this.onResult(index, res);
  }

  /**
   * Takes a run back from the thread: true if the thread had not started it (it will skip
   * it), false if it is running or ran.
   */
  skip(index: number): boolean {
    const was = Atomics.compareExchange(this.cells, index, BATCH_WAITING, BATCH_SKIPPED);
    return was !== BATCH_STARTED;
  }

  /** The thread finished run `index` (its result may not have reached us yet). */
  finished(index: number): boolean {
    return Atomics.load(this.cells, index) === BATCH_DONE;
  }

  /** Runs not settled yet. */
  unsettled(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.runs.length; i++) if (this.#responses[i] === undefined) out.push(i);
    return out;
  }
}
