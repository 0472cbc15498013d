/**
 * Typed futures. A Future is a handle on one task's result held by the scheduler and
 * a worker; `result()` fetches and deserializes it. Several Future objects may share
 * one key; the key is released when the last of them is released or collected.
 */
import { withTimeout, type WaitOptions } from './wait-timeout.ts';
import { FloeError, isFloeError } from '../errors.ts';
import type { KeyUpdate } from '../transport/messages.ts';
import { watchFuture, type Hold } from './future-finalizer.ts';

export type FutureStatus = 'pending' | 'finished' | 'error' | 'cancelled';

/** What a Future needs from its client (kept narrow to avoid an import cycle). */
export interface FutureOwner {
  readonly clientId: string;
  /** `keep` is held until the result is in (see Results.resultOf). */
  resultOf(state: KeyState, flushFlows?: boolean, keep?: object): Promise<unknown>;
  cancelKeys(keys: string[]): Promise<void>;
  retain(state: KeyState): void;
  releaseRef(state: KeyState): void;
  /** releaseRef of the key's state, if the client has one: a collected future's (future-finalizer.ts). */
  releaseKeyRef(key: string): void;
  /** Before waiting for a key without its result: its flow's graph goes out, and the scheduler keeps it (Results.prepareWait). */
  prepareWait(state: KeyState): void;
}

/** Told once a key is done (KeyState.listen), with the index it gave. Must not throw. */
export interface SettleListener {
  keySettled(state: KeyState, index: number): void;
}

/** The client's record of one key, shared by all futures of that key. */
export class KeyState {
  status: FutureStatus = 'pending';
  update: KeyUpdate | undefined;
  error: FloeError | undefined;
  /** Future objects alive for this key. */
  refs = 0;
  /** Whether the scheduler has been told this client wants the key. */
  wanted = false;
  /** Sent to the scheduler (or dropped before that). */
  submitted = false;
  // Made on first use of `settled`: most keys of a big submission are never waited on
  // before they settle, and a promise with its resolver per key is a large part of what
  // a submission leaves for the garbage collector.
  private settledPromise: Promise<void> | undefined;
  private resolveSettled: (() => void) | undefined;
  // The first listener inline, any others in an array: a gather of thousands of keys
  // listens once per key, and a promise with its reactions per key was most of what a
  // gather left for the garbage collector.
  private listener: SettleListener | undefined;
  private listenerIndex = 0;
  private otherListeners: { listener: SettleListener; index: number }[] | undefined;

  constructor(readonly key: string) {}

  /** Tells `listener` once the key is done (finished, failed or cancelled); call it only while pending. */
  listen(listener: SettleListener, index: number): void {
    if (this.listener === undefined) {
      this.listener = listener;
      this.listenerIndex = index;
    } else {
      (this.otherListeners ??= []).push({ listener, index });
    }
  }

  /** Resolves once the key is done (finished, failed or cancelled); the same promise each time. */
  get settled(): Promise<void> {
    if (this.settledPromise === undefined) {
      this.settledPromise = this.done
        ? Promise.resolve()
        : new Promise((resolve) => {
            this.resolveSettled = resolve;
          });
    }
    return this.settledPromise;
  }

  get done(): boolean {
    return this.status !== 'pending';
  }

  private wakeSettled(): void {
    const resolve = this.resolveSettled;
    this.resolveSettled = undefined;
    resolve?.();
    const listener = this.listener;
    if (listener === undefined) return;
    const others = this.otherListeners;
    this.listener = undefined;
    this.otherListeners = undefined;
    listener.keySettled(this, this.listenerIndex);
    if (others !== undefined) for (const other of others) other.listener.keySettled(this, other.index);
  }

  finish(update: KeyUpdate): void {
    if (this.status === 'finished') {
      // The result moved (a worker retired) or was recomputed elsewhere: new location.
      this.update = update;
      this.wakeRelocated();
      return;
    }
    if (this.done) return;
    this.status = 'finished';
    this.update = update;
    this.wakeSettled();
  }

  private relocated: (() => void)[] | undefined;
  /** Why a finished key could not be located again (e.g. it was released meanwhile). */
  relocateError: FloeError | undefined;

  private wakeRelocated(): void {
    const waiters = this.relocated;
    this.relocated = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }

  /** Resolves on the next location update of a finished key. */
  nextLocation(): Promise<void> {
    return new Promise((resolve) => (this.relocated ??= []).push(resolve));
  }

  fail(error: FloeError, status: 'error' | 'cancelled' = 'error'): void {
    if (this.status === 'finished') {
      // Too late for the future itself; only a pending relocation learns of it.
      this.relocateError = error;
      this.wakeRelocated();
      return;
    }
    if (this.done) return;
    this.status = status;
    this.error = error;
    this.wakeSettled();
  }
}

const FUTURE_BRAND = Symbol.for('floe.future');

let releasedOf: (future: Future<unknown>) => boolean;

/** Whether release() was called on `future` (gather.ts); not a member, to keep Future's surface as it is. */
export function isReleased(future: Future<unknown>): boolean {
  return releasedOf(future);
}

export class Future<T> {
  static {
    releasedOf = (future) => future.#hold.released;
  }

  readonly key: string;
  /** @internal */
  readonly owner: FutureOwner;
  /** @internal */
  readonly state: KeyState;
  readonly #hold: Hold;
  /** What the finalizer watches for this future's collection (see future-finalizer.ts). */
  readonly #token = {};

  /** @internal Futures are made by a Client, never directly. */
  constructor(owner: FutureOwner, state: KeyState) {
    this.owner = owner;
    this.state = state;
    this.key = state.key;
    owner.retain(state);
    this.#hold = { owner, key: state.key, released: false };
    watchFuture(this.#token, this.#hold);
  }

  /** 'pending' until the task finishes, errs or is cancelled. */
  get status(): FutureStatus {
    return this.state.status;
  }

  /**
   * The task's result; rejects with the task's FloeError (code, remote stack), or with
   * WAIT_TIMEOUT once `timeoutMs` have passed without it (the task goes on).
   */
  result(options?: WaitOptions): Promise<T> {
    if (this.#hold.released) return Promise.reject(new FloeError('RESULT_UNAVAILABLE', `future ${this.key} was released`));
    // This future is held until the result is in (`keep`): one dropped right after
    // result() (`await client.submit(t).result()`) must not be collected meanwhile, or its
    // finalizer would release the key and the result would never come.
    const result = this.owner.resultOf(this.state, true, this) as Promise<T>;
    return options === undefined ? result : withTimeout(result, options, () => `the result of ${this.key} did not come`);
  }

  /**
   * Settles when the task is done, whatever the outcome, without fetching the result;
   * rejects with WAIT_TIMEOUT once `timeoutMs` have passed first (the task goes on).
   */
  async wait(options?: WaitOptions): Promise<this> {
    // Released, its task may be forgotten and never settle here: said at once, as result() does.
    if (this.#hold.released) throw new FloeError('RESULT_UNAVAILABLE', `future ${this.key} was released`);
    // A future of a flow whose body is still running (awaiting this) would never settle.
    if (!this.state.done) this.owner.prepareWait(this.state);
    await withTimeout(this.state.settled, options, () => `${this.key} was not done`);
    return this;
  }

  /** The error if the task failed or was cancelled. */
  exception(): FloeError | undefined {
    return this.state.error;
  }

  /** Cancels this task and everything that depends on it. */
  async cancel(): Promise<void> {
    await this.owner.cancelKeys([this.key]);
  }

  /** Lets go of the result now instead of when this object is garbage collected. */
  release(): void {
    if (this.#hold.released) return;
    this.#hold.released = true;
    this.owner.releaseRef(this.state);
  }

  toString(): string {
    return `Future<${this.key}: ${this.status}>`;
  }
}

// The brand lives on the prototype (one property for all futures, not one per future).
Object.defineProperty(Future.prototype, FUTURE_BRAND, { value: true });

export function isFuture(value: unknown): value is Future<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[FUTURE_BRAND] === true;
}

/** Results of a structure of futures: futures replaced by their values. */
export type Resolved<T> =
  T extends Future<infer U>
    ? U
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: Resolved<T[K]> }
      : T extends ReadonlyMap<infer K, infer V>
        ? Map<K, Resolved<V>>
        : T extends ReadonlySet<infer V>
          ? Set<Resolved<V>>
          : T extends Record<string, unknown>
            ? { [K in keyof T]: Resolved<T[K]> }
            : T;

export function asFloeError(error: unknown): FloeError {
  return isFloeError(error) ? error : new FloeError('INTERNAL', String(error), { cause: error });
}
