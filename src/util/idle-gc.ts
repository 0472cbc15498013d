/**
 * Collects the young generation while a process is idle, so that the next burst of work
 * does not stop for it.
 *
 * A scavenge copies whatever young objects are alive when it runs. In the middle of a
 * burst that is the burst itself (a submission's tasks, futures, decoded messages), and
 * with floe's young generation of 64 MiB (cluster/node-flags.ts) one such scavenge stopped
 * a local cluster's coordinator for 4-9 ms, a worker's main thread for 5-12 ms and the
 * bench client for 4-11 ms (linear-100x10 rounds; `--trace-gc`, and the client's GC
 * performance entries): every task still queued behind it waited that long. Between bursts
 * less is alive, and nothing waits: the same collections took 2.3-5 ms in the coordinator
 * and 1.4-3.4 ms in a worker when made idle.
 *
 * So a process's I/O calls {@link IdleGc.touch}. Once no I/O came for IDLE_MS, and the
 * young generation is at least a quarter full, a minor collection runs (it needs
 * `--expose-gc`, which floe gives the processes it starts; without it nothing happens).
 * util/collect.ts takes V8's collector even without the flag, since the memory it frees
 * would otherwise pile up; an idle collection only moves a pause, so a program that makes
 * its own client opts in with the flag.
 * While busy, the check costs one timer per IDLE_MS; an idle process has no timer at all.
 * Over 4 runs of 50 linear-100x10 rounds on a local cluster (alternated, the coordinator's,
 * workers' and client's main isolates traced), 7 and 5 rounds had such a scavenge without
 * this and 0 and 1 with it. Pool threads are not watched: between batches they block on
 * the pool's hand-over and would run no timer, and their scavenges took 0.6-3 ms. Having
 * the worker ask each idle pool thread for one when it went idle was tried (2026-12-07):
 * pool threads' scavenges during linear-100x10 rounds fell from 22-24 to 1-2 in 60
 * rounds, and the total lag did not move, so the pool threads are left as they are.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { exposedGc, type GcOptions } from './collect.ts';

/** How long without I/O counts as idle. */
export const IDLE_MS = 10;
/** The share of the young generation that must be in use for an idle collection. */
const USED_SHARE_MIN = 0.25;

/** A collector asked for one kind of collection (V8's exposed one is such). */
type Gc = (options: GcOptions) => void;

/** Whether the young generation is full enough to be worth collecting now. */
export function youngGenerationFull(usedShareMin = USED_SHARE_MIN): boolean {
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space') continue;
    const capacity = space.space_used_size + space.space_available_size;
    return capacity > 0 && space.space_used_size >= usedShareMin * capacity;
  }
  return false;
}

export interface IdleGcOptions {
  /** The collector; none (the process lacks --expose-gc): the watch is off. */
  gc?: Gc | undefined;
  idleMs?: number;
  /** Asked once the process is idle: whether a collection is worth it now. */
  shouldCollect?: () => boolean;
  /** Runs `fn` after `ms` without keeping the process alive; tests drive it by hand. */
  setTimer?: (fn: () => void, ms: number) => void;
}

function unrefTimer(fn: () => void, ms: number): void {
  setTimeout(fn, ms).unref();
}

export class IdleGc {
  readonly #gc: Gc | undefined;
  readonly #idleMs: number;
  readonly #shouldCollect: () => boolean;
  readonly #setTimer: (fn: () => void, ms: number) => void;
  readonly #check = (): void => this.#onTimer();
  /** I/O came since the timer was set. */
  #busy = false;
  #armed = false;
  #collections = 0;

  constructor(options: IdleGcOptions = {}) {
    this.#gc = 'gc' in options ? options.gc : exposedGc();
    this.#idleMs = options.idleMs ?? IDLE_MS;
    this.#shouldCollect = options.shouldCollect ?? youngGenerationFull;
    this.#setTimer = options.setTimer ?? unrefTimer;
  }

  /** Idle collections made so far. */
  get collections(): number {
    return this.#collections;
  }

  /** The process did some I/O: it is not idle. */
  touch(): void {
    if (this.#armed) {
      this.#busy = true;
    } else if (this.#gc !== undefined) {
      this.#armed = true;
      this.#setTimer(this.#check, this.#idleMs);
    }
  }

  #onTimer(): void {
    if (this.#busy) {
      this.#busy = false;
      this.#setTimer(this.#check, this.#idleMs);
      return;
    }
    this.#armed = false;
    if (!this.#shouldCollect()) return;
    this.#gc!({ type: 'minor', execution: 'sync' });
    this.#collections += 1;
  }
}

/** This thread's idle collector: touched by the NATS transport's I/O. */
export const idleGc = new IdleGc();
