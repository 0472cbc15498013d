/**
 * `client.gather(futures)`: the results of many futures, in order, as Promise.all of their
 * result() would give them (rejecting with the first error), without a promise per future.
 * A gather of thousands of futures made several promises, reactions and closures per
 * future, all alive until the key was done: the largest part of what a submission left
 * for the garbage collector. Here each pending key calls back the one Gathering
 * (KeyState.listen), which deserializes its result into place.
 */
import { isReleased, type Future, type FutureOwner, type KeyState, type SettleListener } from './future.ts';
import type { Results } from './results.ts';

export class Gathering implements SettleListener {
  readonly promise: Promise<unknown[]>;
  private resolve!: (values: unknown[]) => void;
  private reject!: (error: unknown) => void;
  private readonly values: unknown[];
  private left: number;
  private over = false;

  /**
   * Starts gathering `futures` (futures only: Client.gather checks them first); futures of
   * another client and released futures go through their own result(). The futures are held (by the keys' listeners and
   * reactions, which hold this) until their results are in, as result() holds its future.
   */
  constructor(
    private readonly results: Results,
    // Held, never read: a future only the gather refers to must live until its result is in.
    private readonly futures: readonly Future<unknown>[],
    owner: FutureOwner,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.values = new Array<unknown>(futures.length);
    this.left = futures.length;
    for (let i = 0; i < futures.length; i++) {
      const future = futures[i]!;
      if (future.owner !== owner || isReleased(future)) this.settleWith(i, future.result());
      else this.add(i, future.state);
    }
    if (futures.length === 0) this.finish();
  }

  keySettled(state: KeyState, index: number): void {
    if (!this.over) this.take(index, state);
  }

  private add(index: number, state: KeyState): void {
    if (!state.done) this.results.prepareWait(state, true);
    // Checked again: sending a flow's graph for the key (prepareWait) may have settled it.
    if (state.done) this.take(index, state);
    else state.listen(this, index);
  }

  /** Never throws: it runs inside the client's loop over a message's key updates. */
  private take(index: number, state: KeyState): void {
    try {
      this.settleWith(index, this.results.valueOf(state, undefined));
    } catch (error) {
      this.fail(error);
    }
  }

  /** A value, or (as Promise.all would) what a thenable resolves to. */
  private settleWith(index: number, value: unknown): void {
    if (isThenable(value)) {
      Promise.resolve(value).then(
        (resolved) => this.settleWith(index, resolved),
        (error: unknown) => this.fail(error),
      );
      return;
    }
    if (this.over) return;
    this.values[index] = value;
    this.left -= 1;
    if (this.left === 0) this.finish();
  }

  private finish(): void {
    this.over = true;
    this.resolve(this.values);
  }

  private fail(error: unknown): void {
    if (this.over) return;
    this.over = true;
    this.reject(error);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
