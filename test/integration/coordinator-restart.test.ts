/**
 * A coordinator that restarts has lost what it knew: the clients of the old one are told
 * so (their waiting futures fail with CLIENT_DROPPED instead of waiting for good: a client
 * introduces itself with `hello`, so the new coordinator can tell an old client from a new
 * one), workers start over and register with it, and new clients are served. On the
 * in-process bus, the coordinator replaced by a fresh one.
 */
import t from 'tap';
import { Client } from '../../src/client/client.ts';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { InprocDataPlane } from '../../src/dataplane/inproc.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { InlineExecutor } from '../../src/worker/executor.ts';
import { WorkerNode } from '../../src/worker/node.ts';
import { gate, inc } from '../fixtures/e2e-tasks.ts';
import { openGate, rejection, tempDir, until } from '../helpers/e2e.ts';

t.test('after a coordinator restart, old clients are told their work is gone', async (t) => {
  const cluster = 'restart';
  const bus = new InprocBus();
  const dataPlane = new InprocDataPlane();
  let coordinator = new Coordinator({ transport: bus.connect(), cluster });
  coordinator.start();
  const worker = new WorkerNode({ transport: bus.connect(), cluster, executor: new InlineExecutor(), dataPlane: dataPlane.peer(), heartbeatIntervalMs: 20 });
  await worker.start();
  const connect = (): Client => {
    const client = new Client({ transport: bus.connect(), dataPlane: dataPlane.peer(), cluster, heartbeatIntervalMs: 20 });
    t.teardown(() => client.close());
    return client;
  };
  const dir = tempDir(t);
  t.teardown(async () => {
    openGate(dir);
    await worker.close();
    await coordinator.close();
  });

  const old = connect();
  t.equal(await old.submit(inc, 1).result(), 2);
  const waiting = old.submit(gate, dir, 'a');
  await until('the gated task running', () => worker.metrics().executing === 1);
  // Sent to the worker directly (client/direct.ts), it runs before the coordinator hears of it.
  await until('the coordinator knows the gated task', () => coordinator.status().tasks.processing === 1);

  await coordinator.close();
  coordinator = new Coordinator({ transport: bus.connect(), cluster });
  coordinator.start();

  t.equal((await rejection(waiting.result())).code, 'CLIENT_DROPPED', 'the old client learns its task is gone');
  t.throws(() => old.submit(inc, 1), { code: 'CLIENT_DROPPED' }, 'and takes no more work');
  await until('the worker registered with the new coordinator', () => coordinator.status().workers.length === 1);
  t.equal(worker.epoch, 2, 'having started over once');
  const fresh = connect();
  t.equal(await fresh.submit(inc, 41).result(), 42, 'a new client is served');
  t.equal(coordinator.status().clients, 1, 'the new coordinator knows the new client only');
});
