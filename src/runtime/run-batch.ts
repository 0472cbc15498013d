/**
 * Runs a batch of tasks in a pool thread (worker/batching.ts says which tasks go in one):
 * one after another, in order, each result posted to the worker as soon as it is due.
 *
 * Results are gathered for up to RESULTS_HOLD_MS and posted together, so a batch of tiny
 * tasks costs a few messages, not one per task; a task that takes longer (or waits on
 * something) has the results before it posted by a timer meanwhile. A task that waits on
 * its subtasks (it seceded, runtime/context.ts) does not hold up the tasks after it: the
 * batch goes on, and that task's result is posted when it finishes.
 *
 * Results are moved to the worker, not copied. A small result does not get an ArrayBuffer
 * of its own: the small results of one post share one, sized to fit them (at most
 * SHARED_BYTES_MAX), since making and moving a buffer per tiny result cost more than the
 * task. A stored small result thus keeps at most that many bytes of its neighbours alive.
 *
 * A request may take the result of an earlier one as an input (ThreadDep.from: a chain
 * assigned early, worker/batching.ts takeBatch): it gets a copy of that result's bytes
 * here, without a trip through the worker's main thread.
 */
import { threadId } from 'node:worker_threads';
import { ownBytes } from '../serde/bytes.ts';
import { handOver, hasHandoffs, isResponse, type Made } from './handoff.ts';
import { BATCH_DONE, BATCH_STARTED, BATCH_WAITING, TIME_ORIGIN_MS } from './protocol.ts';
import type { ThreadBatch, ThreadRequest, ThreadResponse } from './protocol.ts';
import { ResultsPacker, type PackedResults } from './results-pack.ts';
import type { RunHooks } from './run-task.ts';

/** Longest a finished result waits for the ones after it before it is posted. */
export const RESULTS_HOLD_MS = 1;
/** Results up to this size share one buffer per post... */
const SMALL_RESULT_BYTES_MAX = 256;
/** ...of at most this many bytes. */
const SHARED_BYTES_MAX = 16 * 1024;

type Post = (results: PackedResults, transferList: ArrayBuffer[]) => void;

const NO_BYTES = new Uint8Array(0);

class Outbox {
  readonly #packer = new ResultsPacker();
  #transfer: ArrayBuffer[] = [];
  /** Small results of the next post: copied here at once (serializers reuse their buffers). */
  #scratch = new Uint8Array(1024);
  #scratchBytes = 0;
  #firstAtMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly batchId: number,
    private readonly post: Post,
  ) {}

  add(index: number, res: ThreadResponse): void {
    if (res.type !== 'ok') {
      this.#packer.failed(index, res);
    } else {
      const n = res.bytes.byteLength;
      if (n <= SMALL_RESULT_BYTES_MAX && this.#scratchBytes + n <= SHARED_BYTES_MAX) {
        if (this.#scratchBytes + n > this.#scratch.byteLength) this.#grow(this.#scratchBytes + n);
        this.#scratch.set(res.bytes, this.#scratchBytes);
        this.#packer.shared(index, res, this.#scratchBytes, this.#scratchBytes + n);
        this.#scratchBytes += n;
      } else {
        // Moved, not copied; the array must own its whole buffer (see serde/bytes.ts).
        const bytes = ownBytes(res.bytes);
        this.#packer.own(index, res, bytes);
        this.#transfer.push(bytes.buffer as ArrayBuffer);
      }
    }
    // When the run ended, on this thread's clock: as good as now, without reading the clock again.
    const now = res.startedAtMs - TIME_ORIGIN_MS + res.durationMs;
    if (this.#packer.size === 1) {
      this.#firstAtMs = now;
      // Fires only if the thread's event loop gets to run (a task awaits I/O or a timer).
      this.#timer = setTimeout(() => this.flush(), RESULTS_HOLD_MS);
    } else if (now - this.#firstAtMs >= RESULTS_HOLD_MS) {
      this.flush();
    }
  }

  #grow(bytesMin: number): void {
    const grown = new Uint8Array(Math.min(SHARED_BYTES_MAX, Math.max(bytesMin, 2 * this.#scratch.byteLength)));
    grown.set(this.#scratch.subarray(0, this.#scratchBytes));
    this.#scratch = grown;
  }

  flush(): void {
    if (this.#packer.size === 0) return;
    clearTimeout(this.#timer);
    let shared = NO_BYTES;
    if (this.#scratchBytes > 0) {
      shared = this.#scratch.slice(0, this.#scratchBytes);
      this.#transfer.push(shared.buffer);
      this.#scratchBytes = 0;
    }
    this.post(this.#packer.take(this.batchId, shared), this.#transfer);
    this.#transfer = [];
  }
}

/**
 * Results of this batch that later requests take as inputs (ThreadDep.from), by index:
 * copies, since the originals are moved to the worker when posted. Indices are the
 * batch's positions, so arrays rather than maps: a batch of chains made three maps and
 * sets per chain, grown entry by entry.
 */
class Handoffs {
  /** needed[i]: a later request takes request i's result. */
  readonly #needed: Uint8Array;
  readonly #any: boolean;
  readonly #made: (Made | undefined)[];
  /** Runs that seceded and go on beside the batch: a request needing their result waits. */
  #later: (Promise<unknown> | undefined)[] | undefined;
  readonly #madeAt = (index: number): Made | undefined => this.#made[index];

  constructor(reqs: readonly ThreadRequest[]) {
    this.#needed = new Uint8Array(reqs.length);
    let any = false;
    for (const req of reqs) {
      for (const dep of req.deps) {
        // A valid index only: the worker sends -1 for an input not in the batch after all.
        if (dep.from !== undefined && dep.from >= 0 && dep.from < reqs.length) {
          this.#needed[dep.from] = 1;
          any = true;
        }
      }
    }
    this.#any = any;
    this.#made = any ? new Array<Made | undefined>(reqs.length) : [];
  }

  get any(): boolean {
    return this.#any;
  }

  later(index: number, done: Promise<unknown>): void {
    if (this.#needed[index] === 1) (this.#later ??= [])[index] = done;
  }

  keep(index: number, res: ThreadResponse): void {
    if (res.type === 'ok' && this.#needed[index] === 1) this.#made[index] = { serializer: res.serializer, bytes: res.bytes.slice() };
  }

  /**
   * The request with its batch inputs filled in (in place: the thread's own copy of the
   * batch), or an error response if one was not made; a promise only when an input is
   * still being made by a run that seceded.
   */
  resolve(req: ThreadRequest): ThreadRequest | ThreadResponse | Promise<ThreadRequest | ThreadResponse> {
    const later = this.#later;
    if (later !== undefined) {
      const waits: Promise<unknown>[] = [];
      for (const dep of req.deps) {
        const wait = dep.from === undefined || dep.from < 0 ? undefined : later[dep.from];
        if (wait !== undefined) waits.push(wait);
      }
      if (waits.length > 0) return Promise.all(waits).then(() => handOver(req, this.#madeAt, true));
    }
    return handOver(req, this.#madeAt, true);
  }
}

export async function runBatch(
  batch: ThreadBatch,
  run: (req: ThreadRequest, hooks: RunHooks) => ThreadResponse | Promise<ThreadResponse>,
  post: Post,
): Promise<null> {
  const outbox = new Outbox(batch.batchId, post);
  const handoffs = new Handoffs(batch.reqs);
  const detached: Promise<void>[] = [];
  const done = (index: number, res: ThreadResponse): void => {
    Atomics.store(batch.cells, index, BATCH_DONE);
    if (handoffs.any) handoffs.keep(index, res);
    outbox.add(index, res);
  };
  Atomics.store(batch.cells, batch.reqs.length, threadId);
  for (let i = 0; i < batch.reqs.length; i++) {
    // A request the worker cancelled before it started is skipped (it answered it itself).
    if (Atomics.compareExchange(batch.cells, i, BATCH_WAITING, BATCH_STARTED) !== BATCH_WAITING) continue;
    let req: ThreadRequest | ThreadResponse | Promise<ThreadRequest | ThreadResponse> = batch.reqs[i]!;
    if (hasHandoffs(req)) req = handoffs.resolve(req);
    if (req instanceof Promise) req = await req;
    if (isResponse(req)) {
      Atomics.store(batch.cells, i, BATCH_DONE);
      outbox.add(i, req);
      continue;
    }
    // Only a task that returned a promise can secede (wait on its subtasks): the batch
    // waits for it until it does, then goes on beside it.
    let seceded: (() => void) | undefined;
    let secededEarly = false;
    const running = run(req, { onSeceded: () => (seceded === undefined ? (secededEarly = true) : seceded()) });
    if (!(running instanceof Promise)) {
      done(i, running);
      continue;
    }
    const waiting = secededEarly ? Promise.resolve(undefined) : new Promise<undefined>((resolve) => (seceded = () => resolve(undefined)));
    const res = await Promise.race([running, waiting]);
    if (res !== undefined) {
      done(i, res);
      continue;
    }
    const index = i;
    const late = running.then((response) => {
      done(index, response);
      outbox.flush();
    });
    handoffs.later(index, late);
    detached.push(late);
  }
  outbox.flush();
  await Promise.all(detached);
  return null;
}
