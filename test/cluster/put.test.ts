// Client.put between real processes: the value goes from the client to a worker over gRPC,
// never through NATS (the server here takes messages of 32 KiB, the values are 1 MiB), is
// fetched from there by the workers that need it, and a value lost with its worker makes
// the tasks that need it fail with RESULT_UNAVAILABLE, naming it. putMany sends each
// worker its share of a list in a few uploads; whoHas says where each value is; replicate
// copies one to the other worker.
import t from 'tap';
import { add, inspectBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';
import { isFloeError } from '../../src/index.ts';
import { clusterClient, localCluster, status, untilStatus } from '../helpers/cluster.ts';
import { natsServer } from '../helpers/nats.ts';
import { rejection } from '../helpers/e2e.ts';

const MAX_PAYLOAD = 32 * 1024;
const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251);

t.test('puts on a cluster whose nats-server takes 32 KiB messages', async (t) => {
  const nats = await natsServer(t, { maxPayloadBytes: MAX_PAYLOAD });
  const cluster = await localCluster(t, { workers: 2, threads: 1, nats: nats.url, heartbeatTimeoutMs: 1500 });
  const client = await clusterClient(t, cluster);
  await untilStatus(cluster, 'two workers', (s) => s.workers.length === 2);

  t.test('broadcast: both workers hold a copy, over gRPC, and the scheduler counts both', async (t) => {
    // First, while nothing else is held: futures of the other subtests, released whenever
    // they are collected, would move the counts under it.
    const before = await status(cluster);
    const value = await client.put(pattern(1024 * 1024, 6), { serializer: 'raw', broadcast: true });
    await untilStatus(cluster, 'a copy counted on each worker', (s) => s.workers.every((w) => w.held === (before.workers.find((b) => b.id === w.id)?.held ?? 0) + 1));
    const check = client.submit(verifyBytes, value, 6);
    const checked = await check.result();
    t.same([checked.length, checked.bad], [1024 * 1024, 0], 'intact');
    check.release();
    value.release();
    await untilStatus(cluster, 'both copies dropped once released', (s) => s.workers.every((w) => w.held === (before.workers.find((b) => b.id === w.id)?.held ?? 0)));
    t.pass('released everywhere');
  });

  t.test('a 1 MiB value put on each worker reaches tasks on both, intact and in shared memory', async (t) => {
    const size = 1024 * 1024;
    const onFirst = await client.put(pattern(size, 3), { serializer: 'raw', worker: 'worker-0' });
    const onSecond = await client.put(pattern(size, 4), { serializer: 'raw', worker: 'worker-1' });
    const inspected = await client.gather([client.submit(inspectBytes, onFirst, 3), client.submit(inspectBytes, onSecond, 4)]);
    const verified = await client.gather([client.submit(verifyBytes, onFirst, 3), client.submit(verifyBytes, onSecond, 4)]);
    for (const c of [...inspected, ...verified]) t.same([c.length, c.bad], [size, 0], 'every byte right');
    t.ok(inspected.every((c) => c.shared), 'a task reads a put value without a copy into its thread');
    const back = await onFirst.result();
    t.same([back.byteLength, back[12345]], [size, (12345 * 31 + 3) % 251], 'the client gets the value back');
    const s = await status(cluster);
    const held = new Map(s.workers.map((w) => [w.name, w.held]));
    t.ok((held.get('worker-0') ?? 0) >= 1 && (held.get('worker-1') ?? 0) >= 1, 'each worker holds the value put on it');
  });

  t.test('puts without a worker named go to the workers in turn', async (t) => {
    const before = await status(cluster);
    const futures = await Promise.all([1, 2, 3, 4].map((i) => client.put({ i })));
    // A put resolves once the coordinator knows its key; it counts the value held once the
    // worker's report of it comes (it may come in the next batch).
    const gained = (s: Awaited<ReturnType<typeof status>>): number[] => s.workers.map((w) => w.held - (before.workers.find((b) => b.id === w.id)?.held ?? 0));
    const after = await untilStatus(cluster, 'four values held', (s) => gained(s).reduce((a, b) => a + b, 0) === 4);
    t.same(gained(after), [2, 2], 'two values each');
    t.same(await client.gather(futures), [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
  });

  t.test('putMany: values bigger than a message, two to an upload, each intact where tasks read it', async (t) => {
    const size = 256 * 1024;
    const parts = await client.putMany([5, 6, 7, 8].map((seed) => pattern(size, seed)), { serializer: 'raw' });
    const checked = await client.gather(parts.map((part, i) => client.submit(verifyBytes, part, 5 + i)));
    for (const c of checked) t.same([c.length, c.bad], [size, 0], 'every byte right, in its own future');
  });

  t.test('putMany: 600 small values in a few uploads, each an input of tasks on either worker', async (t) => {
    const before = await status(cluster);
    const parts = await client.putMany(Array.from({ length: 600 }, (_, i) => i));
    const gained = (s: Awaited<ReturnType<typeof status>>): number[] => s.workers.map((w) => w.held - (before.workers.find((b) => b.id === w.id)?.held ?? 0));
    const after = await untilStatus(cluster, 'six hundred values held', (s) => gained(s).reduce((a, b) => a + b, 0) >= 600);
    t.same(gained(after), [300, 300], 'dealt in turn: three hundred each');
    const held = await client.whoHas(parts);
    const holders = parts.map((p) => held.get(p.key) ?? []);
    t.ok(holders.every((h) => h.length === 1), 'whoHas: each value on one worker');
    t.same([...new Set(holders.map((h) => h[0]))].sort(), after.workers.map((w) => w.id).sort(), 'whoHas: on both workers, in turn');
    t.ok(holders.every((h, i) => h[0] !== holders[(i + 1) % 600]![0]), 'whoHas: neighbours in the list on different workers');
    const sums = await client.gather(parts.map((p, i) => client.submit(add, p, parts[(i + 1) % 600]!)));
    t.ok(sums.every((v, i) => v === i + ((i + 1) % 600)), 'every task read its two values right, one of them from the other worker');
    for (const p of parts) p.release();
  });

  t.test('replicate: a value put on one worker copied to the other over gRPC', async (t) => {
    const value = await client.put(pattern(512 * 1024, 11), { serializer: 'raw', worker: 'worker-0' });
    t.equal((await client.whoHas([value])).get(value.key)?.length, 1, 'on one worker');
    await client.replicate([value]);
    t.equal((await client.whoHas([value])).get(value.key)?.length, 2, 'on both once replicate resolves');
    const checked = await client.submit(verifyBytes, value, 11).result();
    t.same([checked.length, checked.bad], [512 * 1024, 0], 'intact');
    value.release();
  });

  t.test('a worker that is not in the cluster is refused by name', async (t) => {
    const error = await rejection(client.put(1, { worker: 'worker-9' }));
    t.equal(error.code, 'INVALID_OPTION');
    t.match(error.message, /no worker 'worker-9'.*worker-0/);
  });

  t.test('a value lost with its worker: its tasks fail naming it, and the cluster goes on', async (t) => {
    const lost = await client.put(pattern(64 * 1024, 9), { serializer: 'raw', worker: 'worker-1' });
    const kept = await client.put(pattern(64 * 1024, 8), { serializer: 'raw', worker: 'worker-0' });
    process.kill(cluster.workers[1]!.pid!, 'SIGKILL');
    const error = await rejection(client.submit(verifyBytes, lost, 9).result());
    t.equal(error.code, 'RESULT_UNAVAILABLE', 'RESULT_UNAVAILABLE');
    t.match(error.message, new RegExp(`value put as ${lost.key} was lost`), 'names the value');
    t.match(error.message, /put it again/, 'says what to do');
    t.ok(isFloeError(await rejection(lost.result())), 'its own future fails too');
    const checked = await client.submit(verifyBytes, kept, 8).result();
    t.same([checked.length, checked.bad], [64 * 1024, 0], 'a value on the other worker is still there');
  });
});
