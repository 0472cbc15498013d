/**
 * RequestOptions.sendVia (client/direct.ts sends lone tasks on a data-plane stream): the
 * request is not published on its subject but handed to `sendVia` with its reply subject,
 * and the answer still comes over the transport. Its way can fail it, when sending or
 * later, with REQUEST_TIMEOUT (the client then goes to the coordinator). Both transports,
 * the NATS one against a real nats-server.
 */
import t, { type Test } from 'tap';
import { isFloeError } from '../../src/errors.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { natsServer, natsTransport } from '../helpers/nats.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function both(t: Test, run: (t: Test, a: Transport, b: Transport) => Promise<void>): Promise<void> {
  await t.test('nats', async (t) => {
    const server = await natsServer(t);
    await run(t, await natsTransport(t, server), await natsTransport(t, server));
  });
  await t.test('in-process bus', async (t) => {
    const bus = new InprocBus();
    const a = bus.connect();
    const b = bus.connect();
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    await run(t, a, b);
  });
}

// The first request of each connection here is sent another way: its answer must not reach
// the server before the connection's inbox subscription does (NatsRequests waits for it).
t.test('sent another way, answered over the transport', (t) =>
  both(t, async (t, a, b) => {
    let published = 0;
    b.subscribe('floe.test.subject', () => published++);
    await b.flush();
    const sent: { replyTo: string; data: string }[] = [];
    const reply = await a.request('floe.test.subject', enc('ping'), {
      timeoutMs: 5_000,
      sendVia: (replyTo, data) => {
        sent.push({ replyTo, data: dec(data) });
        // Whoever got it answers on the reply subject (the coordinator, for a direct submission).
        b.publish(replyTo, enc('pong'));
      },
    });
    t.equal(dec(reply.data), 'pong');
    t.equal(sent.length, 1);
    t.equal(sent[0]!.data, 'ping');
    await a.flush();
    await b.flush();
    t.equal(published, 0, 'nothing was published on the subject');
  }));

t.test('a way that cannot send, or fails the request later: REQUEST_TIMEOUT, and a late answer is dropped', (t) =>
  both(t, async (t, a, b) => {
    const refused = await a.request('floe.test.subject', enc('x'), {
      timeoutMs: 5_000,
      sendVia: () => {
        throw new Error('stream closed');
      },
    }).catch((e: unknown) => e);
    t.ok(isFloeError(refused) && refused.code === 'REQUEST_TIMEOUT', 'refused at once');
    t.match((refused as Error).message, /stream closed/);

    let replyTo = '';
    let fail: ((error: Error) => void) | undefined;
    const failed = a.request('floe.test.subject', enc('x'), {
      timeoutMs: 5_000,
      sendVia: (to, _data, f) => {
        replyTo = to;
        fail = f;
      },
    }).catch((e: unknown) => e);
    fail!(new Error('the stream broke'));
    const error = await failed;
    t.ok(isFloeError(error) && error.code === 'REQUEST_TIMEOUT' && error.retryable, 'failed, retryable');
    t.match((error as Error).message, /the stream broke/);
    fail!(new Error('again')); // a second failure changes nothing
    b.publish(replyTo, enc('late'));
    await b.flush();
    await a.flush();
    t.pass('a late answer to a failed request is dropped');
  }));
