/**
 * Incarnations of a worker (WorkerEvents.epoch). A worker declared lost that comes back
 * sends stale messages, and the coordinator answers each with a request to start over;
 * the worker must start over once, not once per request, or every start after the first
 * costs the tasks just given to it one more "worker lost" (and a task that reaches
 * `allowedFailures` of those fails with WORKER_LOST although nothing died). On the
 * coordinator's side: a registration repeated by the same incarnation changes nothing,
 * and messages from an incarnation that has since started over are dropped unanswered.
 */
import t from 'tap';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { emptyWorkerBatch, subjects, workerEvents, type WireOf } from '../../src/transport/messages.ts';
import { gate, inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, openGate, standInCoordinator, tempDir, until } from '../helpers/e2e.ts';

t.test('a worker asked twice to start over by one incarnation starts over once', async (t) => {
  const client = await localClient(t, { threads: 1, workers: 1 });
  const local = clusterOf(client);
  const { coordinator, workers } = local;
  const worker = workers[0]!;
  const s = subjects(local.cluster);
  // Registrations the worker sends, and requests sent to it as the coordinator would.
  const registered: number[] = [];
  const stand = standInCoordinator(local, t, (wire) => {
    if (wire.workerId === worker.workerId && wire.register !== undefined) registered.push(wire.epoch);
  });
  const dir = tempDir(t);
  const gated = client.submit(gate, dir, 'a');
  await until('the gated task running', () => worker.metrics().executing === 1);
  t.equal(worker.epoch, 1);

  const startOver = (epoch: number): Uint8Array => encodeMessage({ ...emptyWorkerBatch(), reregister: true, epoch });
  stand.send(s.worker(worker.workerId), startOver(1));
  stand.send(s.worker(worker.workerId), startOver(1)); // brought by another stale message
  stand.send(s.worker(worker.workerId), startOver(2)); // a real second loss, later
  // One sender's frames arrive in order: at epoch 3 all three requests were handled.
  await until('the worker started over for the second time', () => worker.epoch >= 3);
  openGate(dir);
  t.equal(await gated.result(), 'a', 'the task lost twice with the worker still ran');
  const one = client.submit(inc, 1);
  t.equal(await one.result(), 2);
  t.equal(worker.epoch, 3, 'two starts, not three');
  t.same(registered, [2, 3], 'one registration per start');
  t.same(coordinator.scheduler.workerInfo().map((w) => w.id), [worker.workerId]);

  // A stale request can share a batch with work for the new incarnation: that work is done.
  const held = worker.metrics().held;
  t.ok(held > 0, 'the worker holds a result');
  const id = `${client.clientId}/${gated.key}`;
  stand.send(s.worker(worker.workerId), encodeMessage({ ...emptyWorkerBatch(), reregister: true, epoch: 2, release: [id] }));
  await until('the release in the batch done', () => worker.metrics().held === held - 1);
  t.equal(worker.epoch, 3);
  t.equal(one.status, 'finished', 'the other result is still held for its future');
});

t.test('the coordinator follows the registered incarnation and drops stale messages unanswered', async (t) => {
  const client = await localClient(t, { threads: 1, workers: 1 });
  const { bus, cluster } = clusterOf(client);
  const s = subjects(cluster);
  const id = 'w-fake';
  // A worker played by the test: it declares a resource no other worker has.
  const fake = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack(`worker.${id}`) });
  const got: WireOf<'workerBatch'>[] = [];
  fake.listen(s.worker(id), (data) => {
    const wire = decodeMessage(data);
    if (wire.type === 'workerBatch') got.push(wire);
  });
  t.teardown(() => fake.close());
  const send = (epoch: number, fields: Parameters<typeof workerEvents>[2]): void => {
    fake.send(s.events, encodeMessage(workerEvents(id, epoch, fields)));
  };
  const register = { threads: 1, resources: { fake: 1 }, address: `inproc://${id}`, name: 'fake', heartbeatIntervalMs: 0 };
  const assigned = (): number[] => got.flatMap((b) => b.assign.map((a) => a.runId));
  const asks = (): number[] => got.filter((b) => b.reregister).map((b) => b.epoch);

  send(1, { register });
  const task = client.submit(inc.with({ resources: { fake: 1 } }), 1);
  await until('the task assigned to the fake worker', () => assigned().length === 1);
  send(5, { heartbeat: true }); // an incarnation it never heard of: asked to start over
  await until('asked to start over', () => asks().length === 1);
  t.same(asks(), [5], 'the request names the incarnation that must start over');
  t.equal(assigned().length, 1);

  send(6, { register }); // started over: what incarnation 1 had is gone
  await until('the task assigned again', () => assigned().length === 2);
  t.not(assigned()[1], assigned()[0], 'as a new run');
  send(1, { heartbeat: true, finished: [] }); // stale: sent before it started over
  send(9, { heartbeat: true });
  await until('asked to start over again', () => asks().length === 2);
  t.same(asks(), [5, 9], 'nothing answered the stale message');
  t.equal(assigned().length, 2);
  t.equal(clusterOf(client).coordinator.scheduler.stateOf(`${client.clientId}/${task.key}`), 'processing');

  // It leaves; then, in one turn of the coordinator, a message it sent before leaving
  // (which asks it to start over) and its registration as a new incarnation (which gets
  // it the task again). The new incarnation gets the task without the stale request.
  send(6, { goodbye: true });
  send(6, { heartbeat: true });
  send(7, { register });
  await until('the task assigned to the new incarnation', () => assigned().length === 3);
  const last = got.find((b) => b.assign.length > 0 && b.assign[0]!.runId === assigned()[2])!;
  t.notOk(last.reregister, 'the batch with its work does not ask it to start over');
  send(11, { heartbeat: true });
  await until('asked to start over again', () => asks().length === 3);
  t.same(asks(), [5, 9, 11], 'no request to start over for incarnation 6 came');

  // A new process given the same id starts at incarnation 1 again: it is registered
  // afresh (the task goes to it once more), and what the old one still sends is refused.
  send(1, { register });
  await until('the task assigned to the new process', () => assigned().length === 4);
  send(7, { heartbeat: true });
  await until('the old process asked to start over', () => asks().length === 4);
  t.same(asks(), [5, 9, 11, 7]);
  t.equal(assigned().length, 4);
});
