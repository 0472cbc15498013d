// The status's per-worker metrics and how long ago they came (coordinator/translate.ts
// clusterStatus, coordinator/worker-registry.ts): what bench/let-go.ts waits on; and
// whether a worker is retiring.
import t from 'tap';
import { clusterStatus } from '../../src/coordinator/translate.ts';
import { WorkerRegistry } from '../../src/coordinator/worker-registry.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { WireMetrics } from '../../src/transport/messages.ts';
import { spec } from '../helpers/spec.ts';

const metrics = (held: number): WireMetrics => ({ executing: 0, tasks: 0, held, heldBytes: 0, rssBytes: 1, executed: 0, fetched: 0, fetchedBytes: 0 });

t.test('the age of a worker\'s metrics is counted from the heartbeat that brought them', async (t) => {
  const scheduler = new Scheduler();
  scheduler.handle({ type: 'workerJoined', stimulusId: 's1', nowMs: 0, workerId: 'w1', threads: 1, resources: {}, address: 'a:1' });
  const registry = new WorkerRegistry();
  registry.join('w1', 1, { name: 'one', address: 'a:1', heartbeatIntervalMs: 1000 }, 1000);
  let [w] = clusterStatus(scheduler, registry, 0, 1500).workers;
  t.equal(w!.metrics, undefined);
  t.equal(w!.metricsAgeMs, 0, 'no metrics yet');

  t.equal(registry.seen('w1', 1, 2000, metrics(5)), 'current');
  [w] = clusterStatus(scheduler, registry, 0, 2750).workers;
  t.same(w!.metrics, metrics(5));
  t.equal(w!.metricsAgeMs, 750);

  t.equal(registry.seen('w1', 1, 3000), 'current', 'a message without metrics');
  [w] = clusterStatus(scheduler, registry, 0, 3100).workers;
  t.equal(w!.metricsAgeMs, 1100, 'keeps the age of the metrics it has');

  t.equal(registry.seen('w1', 1, 3200, metrics(0)), 'current');
  [w] = clusterStatus(scheduler, registry, 0, 3200).workers;
  t.same([w!.metrics?.held, w!.metricsAgeMs], [0, 0]);
});

t.test('a retiring worker is said to be retiring', async (t) => {
  const scheduler = new Scheduler();
  const registry = new WorkerRegistry();
  for (const id of ['w1', 'w2']) {
    scheduler.handle({ type: 'workerJoined', stimulusId: `j-${id}`, nowMs: 0, workerId: id, threads: 1, resources: {}, address: `${id}:1` });
    registry.join(id, 1, { name: id, address: `${id}:1`, heartbeatIntervalMs: 1000 }, 0);
  }
  const retiringOf = (): Record<string, boolean> => Object.fromEntries(clusterStatus(scheduler, registry, 0, 0).workers.map((w) => [w.id, w.retiring]));
  // Each worker runs a task, so that the one retiring has something to hand over and stays.
  const out = scheduler.handle({ type: 'graphSubmitted', stimulusId: 'g', nowMs: 0, clientId: 'c', requestId: 'c:1', tasks: [spec('a'), spec('b')], wants: ['a', 'b'] });
  t.same(out.filter((c) => c.type === 'assign').map((c) => (c as { workerId: string }).workerId).sort(), ['w1', 'w2']);
  t.same(retiringOf(), { w1: false, w2: false });
  scheduler.handle({ type: 'workerRetiring', stimulusId: 'r', nowMs: 0, workerId: 'w2' });
  t.same(retiringOf(), { w1: false, w2: true });
});
