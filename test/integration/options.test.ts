/** Per-task options end to end: retries, timeouts, priority, keys, serializers, resources. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { upper as upperCase } from '../fixtures/custom-serializer.ts';
import { add, bytes, flaky, gate, inc, plainValue, richValue, shout, spin, stamp } from '../fixtures/e2e-tasks.ts';
import { clusterOf, idOf, localClient, openGate, rejection, stamps, tempDir, thrown, until } from '../helpers/e2e.ts';
import { collectGarbage } from '../helpers/gc.ts';

t.test('retries and timeouts (one thread)', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { scheduler } = clusterOf(client).coordinator;

  t.test('retries with backoff succeed on the third attempt', async (t) => {
    const dir = tempDir(t);
    const f = client.submitWithOptions(flaky, { retries: 3, retryDelayMs: 5, retryBackoff: 2 }, dir, 2);
    t.equal(await f.result(), 3, 'the third call succeeded');
    t.equal(readFileSync(join(dir, 'count'), 'utf8'), '3', 'no call after the success');
    const runs = scheduler.story(idOf(client, f.key)).filter((s) => s.to === 'processing');
    t.equal(runs.length, 3, 'the scheduler ran it three times');
  });

  t.test('retries exhausted: TASK_ERROR from the last attempt', async (t) => {
    const dir = tempDir(t);
    const f = client.submit(flaky.with({ retries: 1 }), dir, 5);
    const error = await rejection(f.result());
    t.equal(error.code, 'TASK_ERROR');
    t.equal(error.originalName, 'Error');
    t.equal(error.taskKey, f.key);
    t.equal(f.status, 'error');
    t.equal(f.exception()?.code, 'TASK_ERROR');
    t.equal(readFileSync(join(dir, 'count'), 'utf8'), '2', 'first attempt + one retry');
  });

  t.test('timeoutMs stops a CPU-bound task; the pool keeps working', async (t) => {
    const f = client.submitWithOptions(spin, { timeoutMs: 100 });
    const error = await rejection(f.result());
    t.equal(error.code, 'TASK_TIMEOUT');
    t.equal(error.taskKey, f.key);
    // The only thread was terminated and replaced: later tasks still run.
    t.equal(await client.submit(add, 2, 3).result(), 5);
  });
});

t.test('priority decides the order of queued tasks', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { scheduler } = clusterOf(client).coordinator;
  const dir = tempDir(t);
  // The blocker holds the only thread until the gate opens.
  const blocker = client.submitWithOptions(gate, { priority: 100 }, dir, 'blocker');
  await until('blocker processing', () => scheduler.stateOf(idOf(client, blocker.key)) === 'processing');
  const priorities = [0, 5, -3, 10, 1, 5, 7];
  const futures = priorities.map((p, i) => client.submitWithOptions(stamp, { priority: p }, dir, `p${p}#${i}`));
  await until('all queued behind the blocker', () =>
    futures.every((f) => ['queued', 'processing'].includes(scheduler.stateOf(idOf(client, f.key)))),
  );
  openGate(dir);
  await client.gather(futures);
  await blocker.result();
  // Highest priority first; equal priorities in submission order.
  t.same(stamps(dir), ['blocker', 'p10#3', 'p7#6', 'p5#1', 'p5#5', 'p1#4', 'p0#0', 'p-3#2']);
});

t.test('keys, serializers, resources, option validation', async (t) => {
  const client = await localClient(t, { threads: 2, resources: { gpu: 2, memory: 4 * 1024 ** 3 } });

  t.test('an explicit key: same key twice, one execution, same result', async (t) => {
    const dir = tempDir(t);
    const a = client.submitWithOptions(stamp, { key: 'the-key' }, dir, 'once');
    const b = client.submitWithOptions(stamp, { key: 'the-key' }, dir, 'twice?');
    t.equal(a.key, 'the-key');
    t.equal(b.key, 'the-key');
    t.equal(await a.result(), 'once');
    t.equal(await b.result(), 'once');
    const c = client.submitWithOptions(stamp, { key: 'the-key' }, dir, 'thrice?');
    t.equal(await c.result(), 'once', 'still held: reused');
    t.same(stamps(dir), ['once']);
  });

  t.test('serializers per task: json, v8, raw, custom', async (t) => {
    t.same(await client.submit(plainValue.with({ serializer: 'json' })).result(), { a: [1, 2, { b: 'c' }], d: null });
    const rich = await client.submitWithOptions(richValue, { serializer: 'v8' }).result();
    t.ok(rich.when instanceof Date);
    t.equal(rich.when.getTime(), 0);
    t.ok(rich.map instanceof Map);
    t.equal(rich.map.get('a'), 1);
    const raw = await client.submit(bytes, 1000).result();
    t.ok(raw instanceof Uint8Array);
    t.equal(raw.byteLength, 1000);
    t.equal(raw[999], 999 & 0xff);
    t.equal(await client.submitWithOptions(shout, { serializer: upperCase }, 'hello').result(), 'HELLO');
    // A custom-serialized result as another task's input: decoded on the worker too.
    const up = client.submitWithOptions(shout, { serializer: upperCase }, 'abc');
    t.equal(await client.submit(shout, up).result(), 'ABC');
    const error = await rejection(client.submitWithOptions(add, { serializer: 'no-such-serializer' }, 1, 2).result());
    t.equal(error.code, 'UNKNOWN_SERIALIZER');
  });

  t.test('resources the workers have are accepted', async (t) => {
    t.equal(await client.submitWithOptions(inc, { resources: { gpu: 1, memory: '1GiB' } }, 1).result(), 2);
    t.equal(await client.submit(inc.with({ resources: { gpu: 2 } }), 2).result(), 3);
  });

  t.test('invalid options throw INVALID_OPTION synchronously, naming the option', async (t) => {
    const cases: [string, Record<string, unknown>][] = [
      ['retries', { retries: -1 }],
      ['retries', { retries: 1.5 }],
      ['retryDelayMs', { retryDelayMs: -5 }],
      ['retryBackoff', { retryBackoff: 0 }],
      ['timeoutMs', { timeoutMs: Number.NaN }],
      // Longer than a timer can wait: it would fire after 1 ms and stop the task at once.
      ['timeoutMs', { timeoutMs: 2 ** 31 }],
      ['retryDelayMs', { retryDelayMs: 3e9 }],
      ['priority', { priority: 'high' }],
      ['resources', { resources: { gpu: -1 } }],
      ['serializer', { serializer: 42 }],
      ['key', { key: '' }],
      ['bogus', { bogus: 1 }],
    ];
    for (const [name, options] of cases) {
      const error = thrown(() => client.submitWithOptions(add, options, 1, 2));
      t.equal(error.code, 'INVALID_OPTION', `${name}: code`);
      t.match(error.message, name, `${name}: the message names the option`);
    }
    t.equal(thrown(() => add.with({ retries: -1 })).code, 'INVALID_OPTION', 'with() validates too');
    // Nothing was submitted by the failed calls: once the futures of the tests before are
    // collected (they release their keys), the scheduler holds nothing. Collected here, not
    // left to V8, which may not run a full collection for a long time.
    await collectGarbage();
    await until('scheduler idle', () => clusterOf(client).coordinator.scheduler.size === 0);
    t.equal(clusterOf(client).coordinator.scheduler.size, 0);
  });
});
