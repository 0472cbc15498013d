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
  /** `progress()` at the straggler watch's last look (worker/stragglers.ts); -1 before it. */
  seenProgress = -1;

  constructor(
    readonly runs: readonly BatchRun[],
    /** Called once per run, when it settles, before `onResult` (the executor's own cleanup). */
    private readonly onSettled: (index: number) => void,
    /** Gets each run's response, once. */
    private readonly onResult: (index: number, res: ThreadResponse) => void,
    /** Context ref of run 0; run i's is contextBase + i (when it has a context). */
    readonly contextBase: number,
  ) {
    // One cell per run, and the one the thread writes its threadId into (ThreadBatch.cells).
    this.cells = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (runs.length + 1)));
    this.#responses = new Array<ThreadResponse | undefined>(runs.length).fill(undefined);
    this.#open = runs.length;
  }

  /** The threadId of the pool thread that took the batch up; 0 before it has. */
  get threadId(): number {
    return Atomics.load(this.cells, this.runs.length);
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

  /**
   * Takes back every run the thread has not started (it will skip them) and returns their
   * indexes. From the last run to the first: the thread starts them in order, so what is
   * taken back is always a tail of the runs still waiting, and no run that is left to the
   * thread waits for a result a run taken back was to hand over (ThreadDep.from).
   */
  takeBackWaiting(): number[] {
    const out: number[] = [];
    for (let i = this.runs.length - 1; i >= 0; i--) {
      if (this.#responses[i] !== undefined) continue;
      if (Atomics.compareExchange(this.cells, i, BATCH_WAITING, BATCH_SKIPPED) !== BATCH_WAITING) break;
      out.push(i);
    }
    return out.reverse();
  }

  /**
   * Runs the thread finished whose results it has not posted yet (it posts them together,
   * and a straggler after them holds them up), except those a run it started takes as an
   * input, however indirectly (ThreadDep.from): that run has them already.
   */
  finishedUnposted(): number[] {
    const needed = new Set<number>();
    const out: number[] = [];
    for (let i = this.runs.length - 1; i >= 0; i--) {
      if (this.#responses[i] !== undefined) continue;
      const cell = Atomics.load(this.cells, i);
      if (cell === BATCH_STARTED || needed.has(i)) {
        for (const dep of this.runs[i]!.req.deps) if (dep.from !== undefined && dep.from >= 0) needed.add(dep.from);
      } else if (cell === BATCH_DONE) {
        out.push(i);
      }
    }
    return out.reverse();
  }

  /**
   * How far the thread got: the sum of the cells, which every step of a run (WAITING →
   * STARTED → DONE, or WAITING → SKIPPED) raises. Equal at two looks: nothing moved between.
   */
  progress(): number {
    let sum = 0;
    for (let i = 0; i < this.runs.length; i++) sum += Atomics.load(this.cells, i);
    return sum;
  }

  /** Runs the thread has started and not finished (a straggler, or runs that seceded), not settled here. */
  startedRuns(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.runs.length; i++) if (this.#responses[i] === undefined && Atomics.load(this.cells, i) === BATCH_STARTED) out.push(i);
    return out;
  }

  /** Whether some run still waits for the thread. */
  hasWaiting(): boolean {
    for (let i = 0; i < this.runs.length; i++) if (this.#responses[i] === undefined && Atomics.load(this.cells, i) === BATCH_WAITING) return true;
    return false;
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
