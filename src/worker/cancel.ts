/**
 * The cancel signal of a run on this worker. Executors only ever read `aborted` and listen
 * for 'abort' (see `CancelSignal` in executor.ts), so a run does not need a whole
 * AbortController: making one, and adding and removing its listener, cost more per short
 * task than the rest of starting it.
 */
import type { CancelSignal } from './executor.ts';

export class RunCancel implements CancelSignal {
  #aborted = false;
  /** Most runs have one listener (their executor's): kept alone, without an array. */
  #listener: (() => void) | undefined;
  #more: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborts once: listeners run in the order they were added, each once. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    first?.();
    if (more !== undefined) for (const listener of more) listener();
  }

  /** Every listener runs at most once (as with `{ once: true }`), and not at all when added after the abort. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.#aborted) return;
    if (this.#listener === undefined && this.#more === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listener === listener) {
      this.#listener = undefined;
      return;
    }
    const more = this.#more;
    if (more === undefined) return;
    const i = more.indexOf(listener);
    if (i >= 0) more.splice(i, 1);
  }
}
