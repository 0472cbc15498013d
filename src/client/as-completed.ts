/**
 * `asCompleted(futures)`: yields each future as soon as it is done (finished, erred or
 * cancelled), in completion order. Call `result()` on it to get the value or the error.
 *
 * Futures that settle together (one message from the scheduler may settle many) come out
 * in the order they settled, not in the order they were passed.
 *
 * With `timeoutMs`, the iteration throws WAIT_TIMEOUT if it has not yielded every future
 * by then (as Dask's as_completed(timeout=)); the tasks go on.
 */
import type { Future } from './future.ts';
import { racing, timeoutOf, type WaitOptions } from './wait-timeout.ts';

export async function* asCompleted<T>(futures: Iterable<Future<T>>, options?: WaitOptions): AsyncGenerator<Future<T>, void, undefined> {
  const timeoutMs = timeoutOf(options);
  const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  const done: Future<T>[] = [];
  let wake: (() => void) | undefined;
  let total = 0;
  for (const future of futures) {
    total++;
    // A future that cannot be waited on (released) comes out at once: its result() says why.
    const arrive = (): void => {
      done.push(future);
      wake?.();
    };
    future.wait().then(arrive, arrive);
  }
  for (let next = 0; next < total; next++) {
    while (done.length <= next) {
      const settled = new Promise<void>((resolve) => (wake = resolve));
      const left = total - next;
      await (deadline === undefined
        ? settled
        : racing(settled, Math.max(0, deadline - performance.now()), () => `${left} of ${total} futures were not done within ${timeoutMs} ms; the tasks go on`));
      wake = undefined;
    }
    yield done[next]!;
  }
}
