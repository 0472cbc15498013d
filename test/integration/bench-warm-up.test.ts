// The bench's cluster warm-up (bench/warm-up.ts): the shared cluster works through the mix
// of shapes for the time asked before any scenario gets its client, and is usable after.
import t from 'tap';
import { BenchEnv } from '../../bench/harness.ts';
import { warmCluster } from '../../bench/warm-up.ts';
import { noop } from '../../bench/tasks.ts';

t.test('the shared client comes after the warm-up, which ran every shape at least once', async (t) => {
  const logs: string[] = [];
  const env = new BenchEnv('embedded', (line) => void logs.push(line), {}, 0.2);
  t.teardown(() => env.stopAll());
  const client = await env.client();
  t.match(logs[0], /^cluster warm-up: 0\.2 s of mixed work$/);
  const done = logs.find((line) => line.includes('warm-up done'));
  const tasks = Number(/(\d+) tasks/.exec(done ?? '')?.[1]);
  t.ok(tasks >= 5000 + 1999 + 1000, `one round at least: 5,000 no-ops, a tree of 1,999 adds, 100 chains of 10 (${done})`);
  t.equal(await client.submit(noop, 7).result(), 7, 'the client works after it');
  t.equal(await env.client(), client, 'the warm-up runs once: the same client after it');
  t.equal(logs.filter((line) => line.startsWith('cluster warm-up')).length, 1);
});

t.test('no warm-up asked: nothing runs', async (t) => {
  const env = new BenchEnv('embedded', () => undefined);
  t.teardown(() => env.stopAll());
  const client = await env.client();
  t.equal(await warmCluster(client, 0), 0);
  t.equal(await warmCluster(client, -1), 0);
});
