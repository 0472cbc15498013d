/**
 * `asCompleted(futures)`: yields each future as soon as it is done (finished, erred or
 * cancelled), in completion order. Call `result()` on it to get the value or the error.
 *
 * Futures that settle together (one message from the scheduler may settle many) come out
 * in the order they settled, not in the order they were passed.
 */
import type { Future } from './future.ts';

export async function* asCompleted<T>(futures: Iterable<Future<T>>): AsyncGenerator<Future<T>, void, undefined> {
  const done: Future<T>[] = [];
  let wake: (() => void) | undefined;
  let total = 0;
  for (const future of futures) {
    total++;
    void future.wait().then((f) => {
      done.push(f);
      wake?.();
    });
  }
  for (let next = 0; next < total; next++) {
    while (done.length <= next) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    yield done[next]!;
  }
}
