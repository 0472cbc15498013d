/**
 * client.gather (client/gather.ts) against a scripted coordinator on an in-process bus:
 * results in order whenever each key settles, the first error, released and foreign
 * futures, results fetched from a worker, and futures held until their results are in.
 */
import t, { type Test } from 'tap';
import { Client } from '../../src/client/client.ts';
import type { DataPlane, FetchedObject } from '../../src/dataplane/dataplane.ts';
import { toErrorInfo, FloeError } from '../../src/errors.ts';
import { msgpackSerializer } from '../../src/serde/builtins.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { subjects, type KeyUpdate } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { inc } from '../fixtures/e2e-tasks.ts';
import { collectGarbage } from '../helpers/gc.ts';

const serializer = { id: 'msgpack', module: '' };
const inline = (value: unknown): Uint8Array => msgpackSerializer.serialize(value);

/** A coordinator that accepts every submission and sends the key updates a test asks for. */
class ScriptedCoordinator {
  readonly bus = new InprocBus();
  readonly subjects = subjects('t');
  readonly released: string[] = [];
  private readonly link = new ReliableEndpoint({ transport: this.bus.connect(), ackSubject: this.subjects.ack('coordinator') });
  private readonly submitted = new Set<string>();
  private waiting: { key: string; resolve: () => void }[] = [];

  constructor() {
    const transport = this.bus.connect();
    transport.subscribe(this.subjects.submit, (msg) => {
      const submit = decodeMessage(msg.data);
      if (submit.type !== 'submit') return;
      for (const spec of submit.tasks) this.submitted.add(spec.key);
      msg.respond(encodeMessage({ type: 'submitReply', requestId: submit.requestId, error: undefined }));
      this.waiting = this.waiting.filter((w) => !this.submitted.has(w.key) || (w.resolve(), false));
    });
    this.link.listen(this.subjects.client, (data) => {
      const batch = decodeMessage(data);
      if (batch.type === 'clientBatch') this.released.push(...batch.release);
    });
  }

  client(dataPlane?: Partial<DataPlane>): Client {
    return new Client({ transport: this.bus.connect(), dataPlane: (dataPlane ?? {}) as DataPlane, cluster: 't', heartbeatIntervalMs: 0 });
  }

  /** Resolves once `key` has been submitted. */
  submittedKey(key: string): Promise<void> {
    if (this.submitted.has(key)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ key, resolve }));
  }

  finish(client: Client, key: string, value: unknown): void {
    this.send(client, { ...base(key), inline: inline(value), nbytes: 1 });
  }

  fail(client: Client, key: string, error: FloeError): void {
    this.send(client, { ...base(key), status: 'erred', error: toErrorInfo(error, 'INTERNAL') });
  }

  send(client: Client, update: KeyUpdate): void {
    this.link.send(this.subjects.clientInbox(client.clientId), encodeMessage({ type: 'clientUpdates', updates: [update] }));
  }

  close(): void {
    this.link.close();
  }
}

function base(key: string): KeyUpdate {
  return { key, status: 'memory', workerId: 'w1', address: 'inproc://w1', nbytes: 0, serializer, inline: undefined, error: undefined };
}

/** A scripted coordinator and a client of it, both closed when test `t` ends. */
function connected(t: Test): { coord: ScriptedCoordinator; client: Client } {
  const coord = new ScriptedCoordinator();
  const client = coord.client();
  t.teardown(async () => {
    await client.close();
    coord.close();
  });
  return { coord, client };
}

t.test('values in order, whether each key is done before or after the gather', async (t) => {
  const { coord, client } = connected(t);
  const [a, b, c] = [client.submit(inc, 1), client.submit(inc, 2), client.submit(inc, 3)];
  await coord.submittedKey(c.key);
  coord.finish(client, b.key, 'b');
  await b.wait();
  const gathered = client.gather([a, b, c, a]);
  coord.finish(client, c.key, 'c');
  coord.finish(client, a.key, 'a');
  t.same(await gathered, ['a', 'b', 'c', 'a'], 'the same future twice gets its value twice');
  t.same(await client.gather([]), [], 'nothing to gather');
});

t.test('rejects with the first error; later errors and values do not change it', async (t) => {
  const { coord, client } = connected(t);
  const [a, b, c] = [client.submit(inc, 1), client.submit(inc, 2), client.submit(inc, 3)];
  await coord.submittedKey(c.key);
  const gathered = client.gather([a, b, c]);
  coord.fail(client, c.key, new FloeError('TASK_ERROR', 'c failed'));
  coord.fail(client, a.key, new FloeError('TASK_TIMEOUT', 'a timed out'));
  coord.finish(client, b.key, 'b');
  await t.rejects(gathered, { code: 'TASK_ERROR', message: 'c failed' });
  t.same(await client.gather([b]), ['b']);
});

t.test('a result that cannot be deserialized rejects with DESERIALIZE_FAILED', async (t) => {
  const { coord, client } = connected(t);
  const a = client.submit(inc, 1);
  await coord.submittedKey(a.key);
  const gathered = client.gather([a]);
  coord.send(client, { ...base(a.key), inline: new Uint8Array([0x92, 0x01]), nbytes: 2 });
  await t.rejects(gathered, { code: 'DESERIALIZE_FAILED' });
});

t.test('a released future rejects the gather with RESULT_UNAVAILABLE', async (t) => {
  const { client } = connected(t);
  const [a, b] = [client.submit(inc, 1), client.submit(inc, 2)];
  b.release();
  await t.rejects(client.gather([a, b]), { code: 'RESULT_UNAVAILABLE' });
});

t.test("another client's futures are gathered through that client", async (t) => {
  const coord = new ScriptedCoordinator();
  const one = coord.client();
  const two = coord.client();
  t.teardown(async () => {
    await one.close();
    await two.close();
    coord.close();
  });
  const a = one.submit(inc, 1);
  const b = two.submit(inc, 2);
  await coord.submittedKey(a.key);
  await coord.submittedKey(b.key);
  const gathered = one.gather([a, b]);
  coord.finish(two, b.key, 'from two');
  coord.finish(one, a.key, 'from one');
  t.same(await gathered, ['from one', 'from two']);
});

t.test('a result not sent inline is fetched from the worker that holds it', async (t) => {
  const coord = new ScriptedCoordinator();
  const fetched: string[] = [];
  const client = coord.client({
    fetch: async (address: string, key: string): Promise<FetchedObject> => {
      fetched.push(`${address} ${key}`);
      return { serializer, bytes: inline('fetched') };
    },
  });
  t.teardown(async () => {
    await client.close();
    coord.close();
  });
  const [a, b] = [client.submit(inc, 1), client.submit(inc, 2)];
  await coord.submittedKey(b.key);
  coord.send(client, { ...base(a.key), nbytes: 100 });
  await a.wait();
  const gathered = client.gather([a, b]);
  coord.send(client, { ...base(b.key), nbytes: 100 });
  t.same(await gathered, ['fetched', 'fetched']);
  t.same(fetched, [`inproc://w1 ${client.clientId}/${a.key}`, `inproc://w1 ${client.clientId}/${b.key}`]);
});

t.test('a future only the gather refers to is not collected (and its key released) before its result', async (t) => {
  const { coord, client } = connected(t);
  let key = '';
  const gathered = (() => {
    const f = client.submit(inc, 1);
    key = f.key;
    return client.gather([f]);
  })();
  await coord.submittedKey(key);
  await collectGarbage();
  await collectGarbage();
  t.same(coord.released, [], 'nothing released while the result is awaited');
  coord.finish(client, key, 'kept');
  t.same(await gathered, ['kept']);
});

