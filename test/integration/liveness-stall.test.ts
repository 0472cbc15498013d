/**
 * When the coordinator itself stands still (a long GC pause, a starved or stopped
 * process), it hears nobody meanwhile; its next liveness check comes late and must not
 * hold that time against workers and clients, whose messages of that time are still
 * unread. Silence after that still counts. A worker and a client played by the test on
 * the in-process bus; the coordinator's clock jumps ahead to stand for the stall.
 */
import t from 'tap';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { encodeMessage } from '../../src/transport/codec.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { subjects, workerEvents } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import type { Logger } from '../../src/util/logger.ts';
import { until } from '../helpers/e2e.ts';

t.test('time the coordinator stood still is no one\'s silence', async (t) => {
  const logs: string[] = [];
  const record = (_: object, msg: string): void => void logs.push(msg);
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: record, error: record };
  let offsetMs = 0;
  const bus = new InprocBus();
  const coordinator = new Coordinator({
    transport: bus.connect(),
    cluster: 'stall',
    clock: { now: () => performance.now() + offsetMs },
    logger,
    heartbeatTimeoutMs: 400,
    clientTimeoutMs: 400,
  });
  coordinator.start();
  const s = subjects('stall');
  const worker = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack('worker.w-1') });
  const client = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack('client.c-1') });
  t.teardown(async () => {
    worker.close();
    client.close();
    await coordinator.close();
  });
  worker.send(s.events, encodeMessage(workerEvents('w-1', 1, { register: { threads: 1, resources: {}, address: 'inproc://w-1', name: 'w-1', heartbeatIntervalMs: 0 } })));
  client.send(s.client, encodeMessage({ type: 'clientBatch', clientId: 'c-1', release: [], cancel: [], hello: true, bye: false }));
  await until('both known', () => coordinator.status().workers.length === 1 && coordinator.status().clients === 1);

  offsetMs = 60_000; // the coordinator's next look at the time: a minute later
  await until('the stall noticed', () => logs.length > 0, 5_000_000);
  t.match(logs[0], /stood still/);
  t.equal(coordinator.status().workers.length, 1, 'the worker was not declared lost for it');
  t.equal(coordinator.status().clients, 1, 'nor the client dropped');

  // Silence from here on counts: neither says anything more.
  await until('both timed out', () => coordinator.status().workers.length === 0 && coordinator.status().clients === 0, 5_000_000);
  t.same(logs.slice(1).map((m) => m.split(':')[0]).sort(), ['client silent past the client timeout', 'worker missed its heartbeats']);
});
