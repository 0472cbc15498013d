/**
 * The coordinator's probes (coordinator/probes.ts), with workers and clients played by the
 * test on the in-process bus and timeouts of ten minutes, so that only a probe can lose a
 * worker or drop a client. A silent worker is probed on its subject; it is lost only when
 * nobody listens there twice in a row, not when it answers, not when it does not answer (a
 * slow worker), not when its subscription comes back in between (a reconnect), and not
 * while the coordinator's own connection has just come back. A silent client is probed on
 * its inbox, and dropped only when nobody listens there.
 */
import t, { type Test } from 'tap';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { CLUSTERED_CONFIRM_MS } from '../../src/coordinator/probes.ts';
import { CoordinatorIncarnation } from '../../src/client/incarnation.ts';
import { CoordinatorLink } from '../../src/client/coordinator-link.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { PROBE_HEADER, subjects, workerEvents, type WireOf } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { isNoResponders, type Transport, type TransportMessage } from '../../src/transport/transport.ts';
import type { Logger } from '../../src/util/logger.ts';
import { inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, until } from '../helpers/e2e.ts';

const CLUSTER = 'probes';
const s = subjects(CLUSTER);
/** A worker heartbeat interval of 100 ms: probed after 150 ms of silence. */
const HEARTBEAT_MS = 100;

interface Setup {
  bus: InprocBus;
  coordinator: Coordinator;
  warnings: string[];
  /** The fields logged with each warning. */
  warned: Record<string, unknown>[];
  /** Probes that found nobody listening, by the id of whom they probed. */
  nobody: Map<string, number>;
  /** Probes answered, likewise. */
  answered: Map<string, number>;
  /** Calls the coordinator's reconnect listeners, as its transport does when its connection comes back. */
  reconnect(): void;
}

/** `clustered`: the coordinator's transport says its server is in a cluster of servers. */
function setup(t: Test, clientTimeoutMs = 0, clustered = false): Setup {
  const bus = new InprocBus();
  const warnings: string[] = [];
  const warned: Record<string, unknown>[] = [];
  const warn = (fields: object, msg: string): void => {
    warnings.push(msg);
    warned.push(fields as Record<string, unknown>);
  };
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn, error: () => undefined };
  const nobody = new Map<string, number>();
  const answered = new Map<string, number>();
  const count = (map: Map<string, number>, id: string): void => void map.set(id, (map.get(id) ?? 0) + 1);
  const reconnects: (() => void)[] = [];
  const inner = bus.connect();
  // The coordinator's transport, watched: which probes met nobody, and its reconnect listeners.
  const transport: Transport = Object.assign(Object.create(inner) as Transport, {
    request: async (subject: string, data: Uint8Array, options: Parameters<Transport['request']>[2]): Promise<TransportMessage> => {
      const id = subject.split('.')[3]!; // floe.probes.worker.ID, floe.probes.client.ID
      try {
        const answer = await inner.request(subject, data, options);
        count(answered, id);
        return answer;
      } catch (error) {
        if (isNoResponders(error)) count(nobody, id);
        throw error;
      }
    },
    onReconnect: (listener: () => void) => void reconnects.push(listener),
    ...(clustered ? { clustered: () => true } : {}),
  });
  const coordinator = new Coordinator({ transport, cluster: CLUSTER, logger, heartbeatTimeoutMs: 600_000, clientTimeoutMs });
  coordinator.start();
  t.teardown(() => coordinator.close());
  return { bus, coordinator, warnings, warned, nobody, answered, reconnect: () => reconnects.forEach((l) => l()) };
}

/**
 * Registers worker `id` (then silent), and returns its probes' count; `answer`: how it takes
 * a probe on its subject, if it listens; `heartbeatMs`: the interval it says it has.
 */
function fakeWorker(t: Test, { bus }: Setup, id: string, answer?: (msg: TransportMessage) => void, heartbeatMs = HEARTBEAT_MS): { probes: () => number; listen(): void } {
  const link = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack(`worker.${id}`) });
  const direct = bus.connect();
  let probes = 0;
  let sub: { unsubscribe(): void } | undefined;
  const listen = (): void => {
    sub ??= direct.subscribe(s.worker(id), (msg) => {
      if (msg.headers?.[PROBE_HEADER] === undefined) return;
      probes++;
      answer?.(msg);
    });
  };
  if (answer !== undefined) listen();
  t.teardown(() => {
    sub?.unsubscribe();
    link.close();
  });
  link.send(s.events, encodeMessage(workerEvents(id, 1, { register: { threads: 1, resources: {}, address: `inproc://${id}`, name: id, heartbeatIntervalMs: heartbeatMs } })));
  return { probes: () => probes, listen };
}

const registered = (c: Coordinator): string[] => c.status().workers.map((w) => w.id).sort();

t.test('a worker nobody listens for is lost; one that answers, or is too slow to, is not', async (t) => {
  const set = setup(t);
  const answering = fakeWorker(t, set, 'w-answers', (msg) => msg.respond(new Uint8Array(0)));
  const slow = fakeWorker(t, set, 'w-slow', () => undefined);
  fakeWorker(t, set, 'w-gone');
  await until('three workers registered', () => registered(set.coordinator).length === 3);
  await until('the gone worker lost', () => !registered(set.coordinator).includes('w-gone'), 5_000_000);
  t.equal(set.nobody.get('w-gone'), 2, 'nobody listened twice before it was lost');
  t.match(set.warnings, [/^worker gone: nobody listens on its subject/]);
  // A probe starts only after the one before ended: a second one to the slow worker means the first timed out.
  await until('the slow worker probed twice', () => slow.probes() >= 2, 5_000_000);
  await until('the answering worker probed three times', () => answering.probes() >= 3, 5_000_000);
  t.same(registered(set.coordinator), ['w-answers', 'w-slow'], 'both still registered');
  t.equal(set.warnings.length, 1, 'one worker lost, no other warning');
});

t.test('a worker listening again before the second probe (its reconnect) is not lost', async (t) => {
  const set = setup(t);
  const away = fakeWorker(t, set, 'w-away');
  await until('registered', () => registered(set.coordinator).length === 1);
  await until('a probe met nobody', () => (set.nobody.get('w-away') ?? 0) >= 1, 5_000_000);
  away.listen();
  await until('the second probe answered', () => away.probes() >= 1, 5_000_000);
  t.equal(set.nobody.get('w-away'), 1, 'nobody there once, then it was');
  t.same(registered(set.coordinator), ['w-away'], 'still registered');
});

t.test('when the coordinator\'s server is in a cluster of servers, the second probe waits longer', async (t) => {
  // A broken route between servers hides the subscriptions on the other side for a while.
  const set = setup(t, 0, true);
  fakeWorker(t, set, 'w-gone');
  await until('registered', () => registered(set.coordinator).length === 1);
  await until('lost', () => registered(set.coordinator).length === 0, 5_000_000);
  t.equal(set.nobody.get('w-gone'), 2, 'nobody there twice');
  const probedForMs = set.warned[0]?.probedForMs as number;
  // A timer's start is the event loop's cached time, up to a few ms before the clock's reading.
  t.ok(probedForMs >= CLUSTERED_CONFIRM_MS - 100, `lost ${probedForMs} ms after the first probe, not after half a second as on a lone server`);
});

t.test('after the coordinator\'s own reconnect, probes decide nothing for a heartbeat timeout', async (t) => {
  const set = setup(t);
  fakeWorker(t, set, 'w-not-back-yet');
  await until('registered', () => registered(set.coordinator).length === 1);
  set.reconnect();
  await until('probes met nobody four times', () => (set.nobody.get('w-not-back-yet') ?? 0) >= 4, 5_000_000);
  t.same(registered(set.coordinator), ['w-not-back-yet'], 'not lost for it');
  t.same(set.warnings, []);
});

t.test('a worker a client could not fetch from is probed at once, silent or not', async (t) => {
  const set = setup(t);
  // A heartbeat a minute: no probe for its silence during this test.
  fakeWorker(t, set, 'w-holder', undefined, 60_000);
  const kept = fakeWorker(t, set, 'w-kept', (msg) => msg.respond(new Uint8Array(0)), 60_000);
  await until('registered', () => registered(set.coordinator).length === 2);
  const raw = set.bus.connect();
  t.teardown(() => raw.close());
  const missing = [{ key: 'k1', workerId: 'w-holder' }, { key: 'k2', workerId: 'w-kept' }];
  await raw.request(s.submit, encodeMessage({ type: 'submit', clientId: 'c-1', requestId: '1', tasks: [], wants: [], missing }), { timeoutMs: 5_000 });
  await until('the holder nobody listens for lost', () => !registered(set.coordinator).includes('w-holder'), 5_000_000);
  t.equal(set.nobody.get('w-holder'), 2);
  t.equal(kept.probes(), 1, 'the other one named was probed, answered, and kept');
  t.same(registered(set.coordinator), ['w-kept']);
});

t.test('a silent client nobody listens for is dropped; one whose inbox answers is kept', async (t) => {
  const set = setup(t, 600_000);
  const hello = (id: string): ReliableEndpoint => {
    const link = new ReliableEndpoint({ transport: set.bus.connect(), ackSubject: s.ack(`client.${id}`) });
    t.teardown(() => link.close());
    link.send(s.client, encodeMessage({ type: 'clientBatch', clientId: id, release: [], cancel: [], hello: true, bye: false }));
    return link;
  };
  hello('c-gone');
  // Listening on its inbox, as a client does: its end of the link answers the probes.
  hello('c-here').listen(s.clientInbox('c-here'), () => undefined);
  await until('both clients known', () => set.coordinator.status().clients === 2);
  await until('the gone client dropped', () => set.coordinator.status().clients === 1, 5_000_000);
  t.equal(set.nobody.get('c-gone'), 2, 'nobody listened twice');
  t.match(set.warnings, [/^client gone: nobody listens on its subject/]);
  await until('the other one probed and answered', () => (set.answered.get('c-here') ?? 0) >= 1, 5_000_000);
  t.equal(set.coordinator.status().clients, 1, 'kept');
  t.equal(set.nobody.get('c-here'), undefined);
});

t.test('a client is probed after the heartbeat interval its hello said, not the default', async (t) => {
  const set = setup(t, 600_000);
  const link = (id: string): ReliableEndpoint => {
    const l = new ReliableEndpoint({ transport: set.bus.connect(), ackSubject: s.ack(`client.${id}`) });
    t.teardown(() => l.close());
    return l;
  };
  // Nobody listens for either: one said it heartbeats every ten minutes, one said nothing.
  link('c-slow').send(s.client, encodeMessage({ type: 'clientBatch', clientId: 'c-slow', release: [], cancel: [], hello: true, bye: false, heartbeatIntervalMs: 600_000 }));
  link('c-default').send(s.client, encodeMessage({ type: 'clientBatch', clientId: 'c-default', release: [], cancel: [], hello: true, bye: false }));
  await until('both clients known', () => set.coordinator.status().clients === 2);
  await until('the one that said nothing dropped', () => set.coordinator.status().clients === 1, 5_000_000);
  t.equal(set.nobody.get('c-default'), 2, 'probed after the default interval, nobody there twice');
  t.equal(set.nobody.get('c-slow'), undefined, 'the one that said ten minutes not probed in its silence meanwhile');
  t.equal(set.answered.get('c-slow'), undefined);
});

t.test("a client's hello says its heartbeat interval", async (t) => {
  const bus = new InprocBus();
  const hellos: WireOf<'clientBatch'>[] = [];
  const coordinatorEnd = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack('coordinator') });
  coordinatorEnd.listen(s.client, (data) => {
    const wire = decodeMessage(data);
    if (wire.type === 'clientBatch' && wire.hello) hellos.push(wire);
  });
  const links = [1500, 0].map((heartbeatIntervalMs, i) => new CoordinatorLink({
    transport: bus.connect(), cluster: CLUSTER, clientId: `c${i}`, heartbeatIntervalMs, incarnation: new CoordinatorIncarnation(() => undefined), onUpdates: () => undefined,
  }));
  t.teardown(async () => {
    await Promise.all(links.map((l) => l.close()));
    coordinatorEnd.close();
  });
  await until('both hellos', () => hellos.length === 2);
  t.same(hellos.map((h) => [h.clientId, h.heartbeatIntervalMs]).sort(), [['c0', 1500], ['c1', undefined]], 'the interval, or nothing when it sends no heartbeats');
});

t.test('a worker and a client answer a probe on their subjects at once, with nothing', async (t) => {
  const client = await localClient(t, { threads: 1, workers: 1 });
  const { bus, cluster, workers } = clusterOf(client);
  const raw = bus.connect();
  t.teardown(() => raw.close());
  const probe = { timeoutMs: 5_000, headers: { [PROBE_HEADER]: '1' } };
  t.equal((await raw.request(subjects(cluster).worker(workers[0]!.workerId), new Uint8Array(0), probe)).data.byteLength, 0, 'the worker');
  t.equal((await raw.request(subjects(cluster).clientInbox(client.clientId), new Uint8Array(0), probe)).data.byteLength, 0, 'the client');
  t.equal(await client.submit(inc, 1).result(), 2, 'and both work as before');
});
