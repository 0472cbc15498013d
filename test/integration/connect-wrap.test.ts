/**
 * connectClient's internal `wrap`, as bench/lag-timeline.ts uses it with
 * bench/noting-transport.ts: the client's requests go through the wrapper, which notes those
 * to its subject with when they went and were answered, and closing the client still closes
 * the connection underneath.
 */
import t from 'tap';
import { notingTransport, type SentRequest } from '../../bench/noting-transport.ts';
import { connectClient } from '../../src/client/connect.ts';
import { subjects } from '../../src/transport/messages.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { systemClock } from '../../src/util/clock.ts';
import { rejection } from '../helpers/e2e.ts';
import { natsServer, natsTransport } from '../helpers/nats.ts';

t.test('a client connected through a noting wrapper: its requests are noted, its close closes the connection', async (t) => {
  const server = await natsServer(t);
  const status = subjects('wrapped').status;
  const responder = await natsTransport(t, server);
  responder.subscribe(status, (msg) => msg.respond(new Uint8Array([1])));
  await responder.flush();
  const sent: SentRequest[] = [];
  let inner: Transport | undefined;
  const client = await connectClient({ nats: server.url, cluster: 'wrapped', heartbeatIntervalMs: 0 }, (transport) => {
    inner = transport;
    return notingTransport(transport, status, sent);
  });
  // The one-byte answer is not a status: the request went and came back, the decode fails.
  const before = systemClock.now();
  await rejection(client.status(2000));
  t.equal(sent.length, 1, 'the status request was noted');
  t.equal(sent[0]!.bytes > 0, true, 'with its size');
  t.ok(sent[0]!.sentMs >= before && sent[0]!.answeredMs >= sent[0]!.sentMs, 'and when it went and was answered, in order');
  await client.close();
  t.throws(() => inner!.publish('x', new Uint8Array(1)), 'the connection underneath is closed with the client');
});
