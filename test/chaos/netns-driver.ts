/**
 * The client side of the multi-host test, run inside the `client` namespace by
 * netns.test.ts: waits for the three workers, runs the seeded chaos workload and reports
 * on stdout, one JSON object a line: `ready`, `progress` (pair results so far), `result`.
 * Usage: node --import=tsx test/chaos/netns-driver.ts NATS_URL SEED BLOCKS
 */
import { fetchStatus } from '../../cluster/commands/status.ts';
import { Client } from '../../src/index.ts';
import { makeRandom, READER_RETRIES, submitWorkload } from './helpers.ts';

const [url = '', seedText = '0', blocksText = '300'] = process.argv.slice(2);
const say = (msg: object): void => {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
};

// stdin is a pipe from the test: when the test is gone, so is this driver.
process.stdin.once('close', () => process.exit(1)).resume();

const client = await Client.connect({ nats: url, cluster: 'default' });
for (let i = 0; ; i++) {
  const s = await fetchStatus(url, 'default', 2000).catch(() => undefined);
  if (s !== undefined && s.workers.length >= 3) break;
  if (i > 600) throw new Error('the three workers never registered');
  await new Promise((resolve) => setTimeout(resolve, 50));
}
say({ type: 'ready' });
const workload = submitWorkload(client, makeRandom(Number(seedText)), {
  blocks: Number(blocksText),
  readerRetries: READER_RETRIES,
  onProgress: (done) => say({ type: 'progress', done }),
});
const wrong = await workload.check();
const s = await fetchStatus(url, 'default', 5000);
say({
  type: 'result',
  tasks: workload.taskCount,
  wrong,
  workers: s.workers.map((w) => w.name),
  erred: s.tasks.erred ?? 0,
  fetched: s.workers.reduce((n, w) => n + (w.metrics?.fetched ?? 0), 0),
});
await client.close();
process.exit(0);
