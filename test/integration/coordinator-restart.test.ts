/**
 * A coordinator that restarts has lost what it knew: the clients of the old one are told
 * so (their waiting futures fail with CLIENT_DROPPED instead of waiting for good: a client
 * introduces itself with `hello`, so the new coordinator can tell an old client from a new
 * one), workers start over and register with it, and new clients are served. On the
 * in-process bus, the coordinator replaced by a fresh one.
 *
 * A submission introduces its client too (it may overtake the hello), so an old client
 * whose next message to the new coordinator is a submission names the coordinator
 * incarnation it worked with (client/incarnation.ts): it is told it was dropped, never
 * taken for a new client with its earlier keys silently gone.
 */
import t, { type Test } from 'tap';
import { Client } from '../../src/client/client.ts';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { InprocDataPlane } from '../../src/dataplane/inproc.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { InlineExecutor } from '../../src/worker/executor.ts';
import { WorkerNode } from '../../src/worker/node.ts';
import { chain } from '../fixtures/actor-tasks.ts';
import { gate, inc } from '../fixtures/e2e-tasks.ts';
import { openGate, rejection, tempDir, until } from '../helpers/e2e.ts';

/** A coordinator and one worker (one thread) on the in-process bus; `restart` replaces the coordinator. */
async function restartable(t: Test, workerHeartbeatIntervalMs: number, clientTimeoutMs?: number): Promise<{
  coordinator(): Coordinator;
  worker: WorkerNode;
  dir: string;
  connect(options?: { heartbeatIntervalMs?: number; directSubmit?: boolean }): Client;
  restart(): Promise<void>;
}> {
  const cluster = 'restart';
  const bus = new InprocBus();
  const dataPlane = new InprocDataPlane();
  const start = (): Coordinator => {
    const started = new Coordinator({ transport: bus.connect(), cluster, ...(clientTimeoutMs === undefined ? {} : { clientTimeoutMs }) });
    started.start();
    return started;
  };
  let coordinator = start();
  const worker = new WorkerNode({
    transport: bus.connect(), cluster, executor: new InlineExecutor(), dataPlane: dataPlane.peer(), heartbeatIntervalMs: workerHeartbeatIntervalMs,
  });
  await worker.start();
  const dir = tempDir(t);
  t.teardown(async () => {
    openGate(dir);
    await worker.close();
    await coordinator.close();
  });
  return {
    coordinator: () => coordinator,
    worker,
    dir,
    connect: (options = {}) => {
      const client = new Client({ transport: bus.connect(), dataPlane: dataPlane.peer(), cluster, heartbeatIntervalMs: 20, ...options });
      t.teardown(() => client.close());
      return client;
    },
    restart: async () => {
      await coordinator.close();
      coordinator = start();
    },
  };
}

t.test('after a coordinator restart, old clients are told their work is gone', async (t) => {
  const c = await restartable(t, 20);
  const old = c.connect();
  t.equal(await old.submit(inc, 1).result(), 2);
  const waiting = old.submit(gate, c.dir, 'a');
  await until('the gated task running', () => c.worker.metrics().executing === 1);
  // Sent to the worker directly (client/direct.ts), it runs before the coordinator hears of it.
  await until('the coordinator knows the gated task', () => c.coordinator().status().tasks.processing === 1);

  await c.restart();

  t.equal((await rejection(waiting.result())).code, 'CLIENT_DROPPED', 'the old client learns its task is gone');
  t.throws(() => old.submit(inc, 1), { code: 'CLIENT_DROPPED' }, 'and takes no more work');
  await until('the worker registered with the new coordinator', () => c.coordinator().status().workers.length === 1);
  t.equal(c.worker.epoch, 2, 'having started over once');
  const fresh = c.connect();
  t.equal(await fresh.submit(inc, 41).result(), 42, 'a new client is served');
  t.equal(c.coordinator().status().clients, 1, 'the new coordinator knows the new client only');
});

t.test('an old client whose submission reaches the restarted coordinator first is told its work is gone', async (t) => {
  // Its heartbeats off: its submission is the first the new coordinator hears of it. No
  // client timeout: no other way for it to learn it was dropped. Without incarnations, the
  // coordinator took it for a new client: its late task ran (to the coordinator) or waited
  // for a worker (by way of the worker), and its earlier key waited for good.
  for (const directSubmit of [false, true]) {
    await t.test(directSubmit ? 'by way of a worker (direct submission)' : 'to the coordinator', async (t) => {
      // By way of the worker, worker heartbeats are off: busy with the gated task, it hears of
      // the restart only when it next reports, so it passes the submission on without running
      // it (run at once, its result could reach the client before the refusal).
      const c = await restartable(t, directSubmit ? 0 : 20, 0);
      const old = c.connect({ heartbeatIntervalMs: 0, directSubmit });
      t.equal(await old.submit(inc, 1).result(), 2);
      const waiting = old.submit(gate, c.dir, 'a');
      await until('the gated task running', () => c.worker.metrics().executing === 1);
      await until('the coordinator knows the gated task', () => c.coordinator().status().tasks.processing === 1);
      const passedOn = c.worker.direct.counts.passedOn;

      await c.restart();
      if (!directSubmit) await until('the worker registered with the new coordinator', () => c.coordinator().status().workers.length === 1);
      const late = old.submit(inc, 5);

      t.equal((await rejection(late.result())).code, 'CLIENT_DROPPED', 'the submission is refused, not taken from a new client');
      if (directSubmit) t.equal(c.worker.direct.counts.passedOn, passedOn + 1, 'it went by way of the worker');
      t.equal((await rejection(waiting.result())).code, 'CLIENT_DROPPED', 'the earlier key fails with the reason instead of hanging');
      t.throws(() => old.submit(inc, 1), { code: 'CLIENT_DROPPED' }, 'and the client takes no more work');
      t.equal(c.coordinator().status().clients, 0, 'the new coordinator did not take it for a new client');

      openGate(c.dir);
      const fresh = c.connect({ directSubmit });
      t.equal(await fresh.submit(inc, 41).result(), 42, 'a new client is served by the new coordinator');
      t.equal(await fresh.submit(inc, 42).result(), 43, 'and again (by way of the worker, with direct submission)');
      t.equal(c.coordinator().status().clients, 1);
    });
  }
});

t.test("after a coordinator restart, a worker's tasks still submit subtasks (its context client is a new one)", async (t) => {
  const c = await restartable(t, 20);
  const old = c.connect();
  t.equal(await old.submit(chain, 3).result(), 3, 'subtasks through the context client of the first coordinator');

  await c.restart();
  await until('the worker registered with the new coordinator', () => c.coordinator().status().workers.length === 1);

  const fresh = c.connect();
  // The worker's first context client named the old coordinator's incarnation: the new one
  // refuses it (CLIENT_DROPPED). Kept, every subtask would fail until the worker restarted.
  t.equal(await fresh.submit(chain, 3).result(), 3, 'subtasks through a new context client');
  t.equal(c.coordinator().status().clients, 2, 'the new client and the worker\'s new context client');
});
