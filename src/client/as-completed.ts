/**
 * `asCompleted(futures)`: yields each future as soon as it is done (finished, erred or
 * cancelled), in completion order. Call `result()` on it to get the value or the error.
 */
import type { Future } from './future.ts';

export async function* asCompleted<T>(futures: Iterable<Future<T>>): AsyncGenerator<Future<T>, void, undefined> {
  const pending = new Map<number, Promise<[number, Future<T>]>>();
  let i = 0;
  for (const future of futures) {
    const n = i++;
    pending.set(n, future.wait().then((f) => [n, f]));
  }
  while (pending.size > 0) {
    const [n, future] = await Promise.race(pending.values());
    pending.delete(n);
    yield future;
  }
}
