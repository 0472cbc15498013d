/** Tasks that submit tasks, embedded: recursion without deadlock (secede/rejoin), run-time fan-out, errors. */
import t from 'tap';
import { getContext } from '../../src/index.ts';
import { catchSub, chain, fanOut, fib, submitBadly } from '../fixtures/actor-tasks.ts';
import { localClient, thrown } from '../helpers/e2e.ts';

t.test('recursion depth 20 on a 2-thread pool: every waiting level gives its slot back', async (t) => {
  const client = await localClient(t, { threads: 2 });
  t.equal(await client.submit(chain, 20).result(), 20, 'a chain of 20 nested waits');
  // Each level's key starts with its parent's: past a length, with its digest, so that 60
  // levels stay under the 256 characters a key may have (about 32 went before).
  t.equal(await client.submit(chain, 60).result(), 60, 'a chain of 60 nested waits');
  t.equal(await client.submit(fib, 20).result(), 6765, 'recursive fib(20) with memoised keys');
});

t.test('recursion on a single thread', async (t) => {
  const client = await localClient(t, { threads: 1 });
  t.equal(await client.submit(chain, 20).result(), 20);
});

t.test('recursion with the inline executor', async (t) => {
  const client = await localClient(t, { threads: 1, executor: 'inline' });
  t.equal(await client.submit(chain, 10).result(), 10);
});

t.test('fan-out whose width is known only at run time; errors of subtasks reach the parent', async (t) => {
  const client = await localClient(t, { threads: 2 });
  // width = seed % 7 + 3; sum of squares 0..width-1
  const expected = (seed: number): number => {
    const w = (seed % 7) + 3;
    return ((w - 1) * w * (2 * w - 1)) / 6;
  };
  t.same(await client.gather([1, 2, 3, 4].map((s) => client.submit(fanOut, s))), [1, 2, 3, 4].map(expected));
  t.equal(await client.submit(catchSub).result(), 'TASK_ERROR:RangeError');
  const [unexported, badRetries, notObject, notList, after] = await client.submit(submitBadly).result();
  t.match(unexported, /^UNKNOWN_EXPORT: a task defined in .* is not exported from it/, 'a subtask that is not exported: its result() says so');
  t.match(badRetries, /^INVALID_OPTION: task options.retries/, 'bad subtask options: at the call');
  t.match(notObject, /^INVALID_OPTION: task options must be an object/);
  t.match(notList, /^INVALID_ARGUMENT: gather\(futures\): futures must be an array/, 'a gather of something not a list');
  t.equal(after, '9', 'the task goes on submitting');
});

t.test('getContext outside a task is a clear error', async (t) => {
  t.equal(thrown(() => getContext()).code, 'INVALID_ARGUMENT');
});
