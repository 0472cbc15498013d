// Chaos with put values: `kill -9` a worker while tasks read values the client put on each
// of three supervised workers (one by one, and with putMany), and blocks made by tasks. Nothing may come out wrong: a block
// lost with the worker is recomputed from lineage; a put value cannot be, so a task that
// needs one whose every copy went with the worker fails with RESULT_UNAVAILABLE naming it,
// and every other task gives its right result. The seed picks the reads, when and whom.
import t from 'tap';
import { isFloeError, type Future } from '../../src/index.ts';
import { block, blockSum, pair } from '../fixtures/chaos-tasks.ts';
import {
  HEARTBEAT_TIMEOUT_MS, WORKER_HEARTBEAT_ARGS, WORKER_NAMES, chaosCluster, chaosSeed, untilReplaced, workerIdsByName, workerPidOf,
} from './helpers.ts';

const PUTS_PER_WORKER = 8;
const BLOCKS = 24;
const PAIRS = 240;
/** Over the 64 KiB a coordinator keeps inline: only workers hold these. */
const BYTES = 80 * 1024;
const TASK_MS = 4;

t.test('kill -9 a worker holding put values mid-flow: every result right, or RESULT_UNAVAILABLE naming a lost put', async (t) => {
  const { random } = chaosSeed(t, 'test/chaos/put-kill.test.ts');
  const { cluster, client } = await chaosCluster(t, { workers: 3, threads: 1, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, workerArgs: () => WORKER_HEARTBEAT_ARGS });
  await workerIdsByName(cluster, WORKER_NAMES);

  // Inputs 0..23 are put (their bytes made by tasks, fetched here): 0..11 one by one, 4 on
  // each worker by name; 12..23 with one putMany, dealt to the workers in turn and sent
  // in one upload per worker. 24..47 are blocks made by tasks.
  const made = await client.gather(Array.from({ length: 3 * PUTS_PER_WORKER }, (_, i) => client.submit(block, BYTES, i + 1, 0)));
  const half = made.length / 2;
  const one = await Promise.all(made.slice(0, half).map((bytes, i) => client.put(bytes, { serializer: 'raw', worker: WORKER_NAMES[i % 3]! })));
  const puts = [...one, ...(await client.putMany(made.slice(half), { serializer: 'raw' }))];
  await Promise.all(puts.map((f) => f.wait())); // each held where its worker says (the word may follow the put)
  const holders = puts.map((f) => f.state.update?.workerId);
  t.ok(holders.every((id) => id !== undefined), 'every put value has its worker');
  const blocks = Array.from({ length: BLOCKS }, (_, i) => client.submit(block, BYTES, puts.length + i + 1, TASK_MS));
  const inputs: Future<Uint8Array>[] = [...puts, ...blocks];
  const victim = Math.floor(random() * 3);
  const killAt = 20 + Math.floor(random() * 60);
  const victimId = (await workerIdsByName(cluster, WORKER_NAMES)).get(WORKER_NAMES[victim]!)!;
  t.comment(`kill -9 ${WORKER_NAMES[victim]} after ${killAt} of ${PAIRS} pair results`);

  const reads = Array.from({ length: PAIRS }, () => [Math.floor(random() * inputs.length), Math.floor(random() * inputs.length)] as const);
  const pairs = reads.map(([a, b]) => client.submit(pair, inputs[a]!, inputs[b]!, a + 1, b + 1, TASK_MS));
  let done = 0;
  let killed: Promise<void> | undefined;
  for (const p of pairs) {
    void p.wait().then(() => {
      if (++done !== killAt) return;
      killed = (async () => {
        const oldId = (await workerIdsByName(cluster, WORKER_NAMES)).get(WORKER_NAMES[victim]!)!;
        process.kill(await workerPidOf(cluster.workers[victim]!), 'SIGKILL');
        await untilReplaced(cluster, WORKER_NAMES[victim]!, oldId);
      })();
    });
  }

  const lostKeys = new Set(puts.filter((_, i) => holders[i] === victimId).map((f) => f.key));
  t.equal(lostKeys.size, PUTS_PER_WORKER, `${PUTS_PER_WORKER} put values on the killed worker (4 by name, 4 dealt by putMany)`);
  const expected = ([a, b]: readonly [number, number]): number => (a + 1) * 1_000_003 + blockSum(BYTES, a + 1) + blockSum(BYTES, b + 1);
  const wrong: string[] = [];
  let right = 0;
  let unavailable = 0;
  for (let i = 0; i < PAIRS; i++) {
    const [a, b] = reads[i]!;
    const mayBeLost = [a, b].some((k) => k < puts.length && lostKeys.has(puts[k]!.key));
    try {
      const got = await pairs[i]!.result();
      if (got === expected(reads[i]!)) right++;
      else wrong.push(`pair ${i} (${a}, ${b}): ${got}, want ${expected(reads[i]!)}`);
    } catch (error) {
      const named = isFloeError(error) && error.code === 'RESULT_UNAVAILABLE' && [...lostKeys].some((k) => error.message.includes(`value put as ${k} was lost`));
      if (mayBeLost && named) unavailable++;
      else wrong.push(`pair ${i} (${a}, ${b}): ${String(error)}${mayBeLost ? '' : ' (none of its inputs was put on the killed worker)'}`);
    }
  }
  await killed;
  t.ok(killed !== undefined, 'the worker was killed mid-flow');
  t.same(wrong, [], 'every pair is right, or failed naming a put value of the killed worker');
  const blocksBack = await client.gather(blocks);
  t.ok(blocksBack.every((b, i) => b.length === BYTES && b.reduce((s, x) => s + x, 0) === blockSum(BYTES, puts.length + i + 1)), 'blocks made by tasks are all back, recomputed where lost');
  t.comment(`${right} pairs right, ${unavailable} failed on a lost put value`);
});
