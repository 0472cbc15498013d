// The cluster for real: nats-server, a coordinator process and worker processes on
// loopback, results moving between workers over gRPC. Workers declare resources so a
// test can decide where a task must run.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { cliPath } from '../../cluster/local-cluster.ts';
import { WORKER_MALLOC_ENV } from '../../cluster/malloc-env.ts';
import { YOUNG_GENERATION_MIB } from '../../cluster/node-flags.ts';
import { add, gated, inspectBytes, makeBytes, passBytes, verifyBytes, whoAmI } from '../fixtures/cluster-tasks.ts';
import { clusterClient, localCluster, status, untilStatus } from '../helpers/cluster.ts';

const run = promisify(execFile);

t.test('a cluster of two workers', async (t) => {
  const cluster = await localCluster(t, {
    workers: 2,
    threads: 2,
    workerArgs: (i) => ['--resources', i === 0 ? 'left=1' : 'right=1'],
    nodeFlags: ['--no-deprecation'],
  });
  const client = await clusterClient(t, cluster);
  const pids = cluster.workers.map((w) => w.pid);

  t.test('worker processes start with the malloc settings of cluster/malloc-env.ts', async (t) => {
    for (const pid of pids) {
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      for (const [name, value] of Object.entries(WORKER_MALLOC_ENV)) t.ok(environ.includes(`${name}=${value}`), `worker ${pid}: ${name}`);
    }
  });

  t.test('cluster processes start with the V8 flags of cluster/node-flags.ts', async (t) => {
    for (const pid of [cluster.coordinator.pid!, ...pids]) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      t.ok(argv.includes(`--max-semi-space-size=${YOUNG_GENERATION_MIB}`), `process ${pid}: ${argv.slice(0, 3).join(' ')}`);
      const held = argv.includes(`--min-semi-space-size=${YOUNG_GENERATION_MIB}`);
      t.equal(held, pid === cluster.coordinator.pid, `process ${pid}: young generation held at full size only in the coordinator`);
      t.equal(argv.includes('--single-threaded-gc'), pid !== cluster.coordinator.pid, `process ${pid}: garbage collected on its own threads only in workers`);
      t.ok(argv.includes('--no-memory-reducer'), `process ${pid}: no memory reducer`);
      t.ok(argv.includes('--expose-gc'), `process ${pid}: collects its young generation when idle`);
      t.ok(argv.indexOf('--no-deprecation') > 0 && argv.indexOf('--no-deprecation') < argv.indexOf(cliPath()), `process ${pid}: the flags asked for (nodeFlags), before the script`);
    }
  });

  t.test('every example runs over the cluster', async (t) => {
    const flows = [
      ['examples/word-count/flow.ts', '3'],
      ['examples/monte-carlo-pi/flow.ts', '8', '10000'],
      ['examples/etl/flow.ts'],
    ];
    for (const [file, ...params] of flows) {
      const out = await run(process.execPath, [cliPath(), 'run', file!, ...params, '--json', '--nats', cluster.url], {
        env: { ...process.env, NODE_OPTIONS: '' },
      }).catch((e: { code?: number; stderr?: string }) => ({ stdout: '', stderr: e.stderr ?? '', code: e.code }));
      t.ok(out.stdout !== '' && JSON.parse(out.stdout), `${file} printed a result`, { stderr: out.stderr });
    }
  });

  t.test('a chain across the two workers moves the result peer to peer', async (t) => {
    const before = await status(cluster);
    const fetchedBefore = before.workers.reduce((n, w) => n + (w.metrics?.fetched ?? 0), 0);
    const size = 200 * 1024; // over the inline limit: must travel on the data plane
    const produced = client.submitWithOptions(makeBytes, { resources: { left: 1 } }, size, 7);
    const checked = client.submitWithOptions(verifyBytes, { resources: { right: 1 } }, produced, 7);
    const result = await checked.result();
    t.same({ length: result.length, bad: result.bad }, { length: size, bad: 0 });
    t.equal(result.pid, pids[1], 'the consumer ran on the right-hand worker');
    const after = await untilStatus(cluster, 'fetch counted', (s) =>
      s.workers.reduce((n, w) => n + (w.metrics?.fetched ?? 0), 0) > fetchedBefore,
    );
    const right = after.workers.find((w) => w.resources.right === 1);
    t.ok((right?.metrics?.fetchedBytes ?? 0) >= size, 'the right-hand worker counted the transfer');
  });

  t.test('a 100 MB result moves between workers intact', async (t) => {
    const size = 100 * 1024 * 1024;
    const produced = client.submitWithOptions(makeBytes, { resources: { left: 1 } }, size, 3);
    const checked = client.submitWithOptions(verifyBytes, { resources: { right: 1 } }, produced, 3);
    t.same(await checked.result(), { length: size, bad: 0, pid: pids[1] });
    // And to the client.
    const bytes = await produced.result();
    t.equal(bytes.length, size);
    t.equal(bytes[size - 1], ((size - 1) * 31 + 3) % 251);
    produced.release();
  });

  t.test('a fetched input reaches the pool threads in shared memory, intact for every reader', async (t) => {
    const size = 3 * 1024 * 1024 + 7; // several data-plane chunks and a ragged end
    const produced = client.submitWithOptions(makeBytes, { resources: { left: 1 } }, size, 5);
    const readers = [1, 2, 3].map(() => client.submitWithOptions(inspectBytes, { resources: { right: 1 } }, produced, 5));
    for (const reader of readers) {
      t.same(await reader.result(), { length: size, bad: 0, shared: true, pid: pids[1] }, 'fetched once, read without a copy');
    }
    // A result that is the shared input itself leaves the thread as its own copy.
    const passed = client.submitWithOptions(passBytes, { resources: { right: 1 } }, produced);
    const bytes = await passed.result();
    t.equal(bytes.length, size);
    t.ok(bytes.buffer instanceof ArrayBuffer, 'the client gets ordinary memory');
    t.equal(bytes.findIndex((b, i) => b !== (i * 31 + 5) % 251), -1, 'every byte right');
    // An input made on the same worker is still structured-cloned, as before.
    const local = client.submitWithOptions(inspectBytes, { resources: { left: 1 } }, produced, 5);
    t.same(await local.result(), { length: size, bad: 0, shared: false, pid: pids[0] });
    produced.release();
    passed.release();
  });

  t.test('resource constraints: a task runs only where its resource is', async (t) => {
    const left = await client.gather(client.map(whoAmI.with({ resources: { left: 1 } }), [1, 2, 3, 4]));
    t.ok(left.every((r) => r.pid === pids[0]));
    const right = await client.gather(client.map(whoAmI.with({ resources: { right: 1 } }), [1, 2, 3, 4]));
    t.ok(right.every((r) => r.pid === pids[1]));
  });

  t.test('two clients share the cluster without seeing each other', async (t) => {
    const other = await clusterClient(t, cluster);
    const dir = await mkdtemp(join(tmpdir(), 'floe-iso-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const gate = join(dir, 'go');
    const mine = client.submitWithOptions(gated, { key: 'same-key' }, gate, 1);
    const theirs = other.submitWithOptions(gated, { key: 'same-key' }, gate, 2);
    t.throws(() => other.submit(add, mine as never, 1), { code: 'FOREIGN_FUTURE' });
    await theirs.cancel();
    await t.rejects(theirs.result(), { code: 'CANCELLED' });
    await writeFile(gate, '');
    t.same((await mine.result()).tag, 1, "the other client's cancel did not touch this client's task");
  });
});

t.test('a worker joining mid-flow receives work; a task waits for a resource until a worker has it', async (t) => {
  const cluster = await localCluster(t, { workers: 1, threads: 1 });
  const client = await clusterClient(t, cluster);
  const dir = await mkdtemp(join(tmpdir(), 'floe-join-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const gate = join(dir, 'go');
  const tasks = Array.from({ length: 12 }, (_, i) => client.submit(gated, gate, i));
  const needsGpu = client.submitWithOptions(whoAmI, { resources: { gpu: 1 } }, 99);
  const waiting = await untilStatus(cluster, 'gpu task waiting with a reason', (s) => s.waiting.some((w) => /gpu/.test(w.reason)));
  t.ok(waiting.waiting.length > 0, 'status says why the gpu task waits');
  const joined = await cluster.addWorker(['--resources', 'gpu=1', '--threads', '2']);
  await writeFile(gate, '');
  const results = await client.gather(tasks);
  t.ok(results.some((r) => r.pid === joined.pid), 'the new worker ran some of the queued tasks');
  t.equal((await needsGpu.result()).pid, joined.pid, 'the gpu task ran on the gpu worker');
});
