/**
 * The cancel signal of a run on this worker. Executors only ever read `aborted` and listen
 * for 'abort' (see `CancelSignal` in executor.ts), so a run does not need a whole
 * AbortController: making one, and adding and removing its listener, cost more per short
 * task than the rest of starting it.
 */
import type { CancelSignal } from './executor.ts';

export class RunCancel implements CancelSignal {
  #aborted = false;
  #listeners: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborts once: listeners run in the order they were added, each once. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }

  /** Every listener runs at most once (as with `{ once: true }`), and not at all when added after the abort. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.#aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  }
}
