// Recursive Fibonacci as tasks that submit tasks. Each call submits fib(n-1) and fib(n-2)
// under memoised keys (`fib-<n>`: the same key is the same task on a worker, so the tree
// collapses to n tasks) and waits for them. While it waits, its thread slot is given
// back (secede/rejoin), so the recursion cannot deadlock even a 1-thread pool.
import { getContext, task } from 'floe';

export const fib = task(import.meta.url, async (n: number): Promise<number> => {
  if (n < 2) return n;
  const ctx = getContext();
  const a = ctx.submitWithOptions(fib, { key: `fib-${n - 1}` }, n - 1);
  const b = ctx.submitWithOptions(fib, { key: `fib-${n - 2}` }, n - 2);
  const [x, y] = await ctx.gather([a, b]);
  return x! + y!;
});
