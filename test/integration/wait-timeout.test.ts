/**
 * Waiting with a time limit (future.result, future.wait, client.gather, asCompleted with `timeoutMs`):
 * the wait gives up with WAIT_TIMEOUT naming what did not come, the tasks go on, and the
 * same futures give their results once the tasks are done. Bad limits are INVALID_OPTION.
 */
import t from 'tap';
import { asCompleted } from '../../src/index.ts';
import { add, boom, gate } from '../fixtures/e2e-tasks.ts';
import { localClient, openGate, rejection, tempDir } from '../helpers/e2e.ts';

t.test('waits with a time limit give up, and the tasks go on', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const dir = tempDir(t);
  const gated = client.submit(gate, dir, 'g');
  const done = client.submit(add, 1, 2);
  t.equal(await done.result({ timeoutMs: 60_000 }), 3, 'a result in time is the result');

  const late = await rejection(gated.result({ timeoutMs: 20 }));
  t.equal(late.code, 'WAIT_TIMEOUT');
  t.ok(late.retryable, 'retryable: the future can be waited on again');
  t.match(late.message, new RegExp(`the result of ${gated.key} did not come within 20 ms; the tasks go on`));
  t.equal((await rejection(gated.wait({ timeoutMs: 0 }))).code, 'WAIT_TIMEOUT', 'wait() too, even with 0 ms');
  const gathered = await rejection(client.gather([done, gated], { timeoutMs: 20 }));
  t.equal(gathered.code, 'WAIT_TIMEOUT');
  t.match(gathered.message, /1 of 2 results did not come within 20 ms/);
  const yielded: string[] = [];
  const iterated = await rejection(
    (async () => {
      for await (const f of asCompleted<unknown>([done, gated], { timeoutMs: 20 })) yielded.push(f.key);
    })(),
  );
  t.same(yielded, [done.key], 'asCompleted yields what is done in time');
  t.equal(iterated.code, 'WAIT_TIMEOUT');
  t.match(iterated.message, /1 of 2 futures were not done within 20 ms; the tasks go on/);
  t.equal(gated.status, 'pending', 'the task is still on');

  openGate(dir);
  t.same(await client.gather([done, gated], { timeoutMs: 60_000 }), [3, 'g'], 'the same futures give their results');
  t.equal(await gated.wait({ timeoutMs: 60_000 }), gated);
  const all: string[] = [];
  for await (const f of asCompleted<unknown>([gated, done], { timeoutMs: 60_000 })) all.push(f.key);
  t.same(all.sort(), [done.key, gated.key].sort(), 'asCompleted over the same futures yields both');
});

t.test('a task error is the error, not a timeout', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const failing = client.submit(boom, 'no');
  t.equal((await rejection(failing.result({ timeoutMs: 60_000 }))).code, 'TASK_ERROR');
  t.equal((await rejection(client.gather([failing], { timeoutMs: 60_000 }))).code, 'TASK_ERROR');
});

t.test('a limit that is not a number of ms, 0 or more, is INVALID_OPTION', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const f = client.submit(add, 1, 2);
  for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
    const error = await rejection(f.result({ timeoutMs }));
    t.equal(error.code, 'INVALID_OPTION', `timeoutMs ${String(timeoutMs)}`);
    t.match(error.message, /timeoutMs/);
  }
  t.equal(await f.result(), 3);
  const error = await rejection(asCompleted([f], { timeoutMs: -5 }).next());
  t.equal(error.code, 'INVALID_OPTION', 'asCompleted too');
});
