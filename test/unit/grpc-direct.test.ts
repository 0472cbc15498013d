/**
 * Direct streams over the gRPC data plane (dataplane/grpc-direct.ts): a client's
 * submissions reach the worker's handler with their reply subject, the worker's messages
 * reach the client, and each side hears once when the stream ends, and why.
 */
import t from 'tap';
import { Client, credentials } from '@grpc/grpc-js';
import { GrpcDataPlane } from '../../src/dataplane/grpc.ts';
import type { DirectEvents, DirectStream, DirectSubmission } from '../../src/dataplane/dataplane.ts';
import { DIRECT_PATH, DIRECT_SUBMIT_BYTES_MAX, deserializeDirectSubmit, serializeDirectSubmit } from '../../src/dataplane/grpc-direct.ts';
import { protoRoot } from '../../src/transport/codec.ts';
import type { Teardown } from '../helpers/e2e.ts';

/** Resolves when `check` holds, polling each turn of the event loop (no timers as synchronisation). */
async function until(what: string, check: () => boolean, turnsMax = 200_000): Promise<void> {
  for (let i = 0; i < turnsMax; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

interface ServerSide {
  streams: DirectStream<Uint8Array>[];
  received: DirectSubmission[];
  closed: (Error | undefined)[];
}

async function serve(t: Teardown): Promise<{ address: string; server: ServerSide; plane: GrpcDataPlane }> {
  const plane = new GrpcDataPlane({ closeTimeoutMs: 100 });
  const server: ServerSide = { streams: [], received: [], closed: [] };
  plane.acceptDirect((stream) => {
    server.streams.push(stream);
    return {
      message: (m) => server.received.push({ replyTo: m.replyTo, submit: Uint8Array.from(m.submit) }),
      closed: (error) => server.closed.push(error),
    };
  });
  const address = await plane.serve('w1', { get: () => undefined });
  t.teardown(() => plane.close());
  return { address, server, plane };
}

function client(t: Teardown): GrpcDataPlane {
  const plane = new GrpcDataPlane();
  t.teardown(() => plane.close());
  return plane;
}

function recorder(): DirectEvents<Uint8Array> & { messages: number[][]; ends: (Error | undefined)[] } {
  const messages: number[][] = [];
  const ends: (Error | undefined)[] = [];
  return { messages, ends, message: (m) => messages.push([...m]), closed: (error) => ends.push(error) };
}

t.test('DirectSubmit is written as protobufjs writes floe.v1.DirectSubmit, and read back', async (t) => {
  const message = { replyTo: '_INBOX.abc.7', submit: new Uint8Array([10, 0, 255, 3]) };
  const ours = serializeDirectSubmit(message);
  const type = protoRoot().lookupType('floe.v1.DirectSubmit');
  t.same([...ours], [...type.encode({ replyTo: message.replyTo, submit: message.submit }).finish()]);
  const back = deserializeDirectSubmit(ours);
  t.same(back, { replyTo: message.replyTo, submit: Buffer.from(message.submit) });
  t.match(deserializeDirectSubmit(Buffer.from([0x0a, 0x05, 0x61])), { bad: /malformed DirectSubmit/ }, 'cut short');
  t.match(deserializeDirectSubmit(Buffer.from(type.encode({ submit: new Uint8Array([1]) }).finish())), { bad: /reply_to is missing/ });
  t.match(deserializeDirectSubmit(Buffer.from(type.encode({ replyTo: 'r' }).finish())), { bad: /submit is missing/ });
  t.match(deserializeDirectSubmit(Buffer.from([0x10, 0x01])), { bad: /field 2 has wire type 0/ }, 'a known field of the wrong type');
});

t.test('submissions reach the worker with their reply subject; its messages reach the client', async (t) => {
  const { address, server } = await serve(t);
  const events = recorder();
  const stream = client(t).openDirect(address, events);
  t.equal(stream.send({ replyTo: 'r.1', submit: new Uint8Array([1, 2]) }), true);
  t.equal(stream.send({ replyTo: 'r.2', submit: new Uint8Array([3]) }), true);
  await until('both arrive', () => server.received.length === 2);
  t.same(server.received.map((m) => ({ replyTo: m.replyTo, submit: [...m.submit] })), [{ replyTo: 'r.1', submit: [1, 2] }, { replyTo: 'r.2', submit: [3] }]);
  t.equal(server.streams.length, 1, 'one stream');
  t.equal(server.streams[0]!.send(new Uint8Array([9, 8, 7])), true);
  await until('the worker\'s message arrives', () => events.messages.length === 1);
  t.same(events.messages, [[9, 8, 7]]);
  t.same(events.ends, []);
});

t.test('the client closes its stream: the worker hears it, the client is not told of its own close twice', async (t) => {
  const { address, server } = await serve(t);
  const events = recorder();
  const stream = client(t).openDirect(address, events);
  stream.send({ replyTo: 'r', submit: new Uint8Array([1]) });
  await until('the stream is open at the worker', () => server.streams.length === 1);
  stream.close();
  t.same(events.ends, [undefined], 'closed, with no error');
  t.equal(stream.send({ replyTo: 'r', submit: new Uint8Array([1]) }), false, 'a closed stream takes nothing');
  await until('the worker hears of it', () => server.closed.length === 1);
  t.equal(server.streams[0]!.send(new Uint8Array([1])), false, 'nor does the worker\'s end');
  stream.close();
  t.equal(events.ends.length, 1);
});

t.test('the worker ends the stream or goes away: the client hears it, with an error', async (t) => {
  const { address, server, plane } = await serve(t);
  const events = recorder();
  const stream = client(t).openDirect(address, events);
  stream.send({ replyTo: 'r', submit: new Uint8Array([1]) });
  await until('the stream is open at the worker', () => server.streams.length === 1);
  server.streams[0]!.close();
  await until('the client hears of it', () => events.ends.length === 1);
  t.match(events.ends[0], { message: /ended the direct stream/ });
  t.same(server.closed, [undefined]);

  const second = recorder();
  const again = client(t).openDirect(address, second);
  again.send({ replyTo: 'r', submit: new Uint8Array([1]) });
  await until('the second stream is open at the worker', () => server.streams.length === 2);
  await plane.close();
  await until('the client hears of it', () => second.ends.length === 1);
  t.type(second.ends[0], Error);
});

t.test('no worker at the address: the stream ends with an error', async (t) => {
  const { address, plane } = await serve(t);
  await plane.close();
  const events = recorder();
  const stream = client(t).openDirect(address, events);
  stream.send({ replyTo: 'r', submit: new Uint8Array([1]) });
  await until('the client hears of it', () => events.ends.length === 1);
  t.match(events.ends[0], { message: /direct stream to .* failed \(UNAVAILABLE/ });
  t.equal((events.ends[0] as { unsupported?: boolean }).unsupported, undefined, 'not taken for a worker without streams');
});

t.test('a worker that takes no direct streams: the stream ends at once, saying so', async (t) => {
  const plane = new GrpcDataPlane({ closeTimeoutMs: 100 });
  t.teardown(() => plane.close());
  const address = await plane.serve('old', { get: () => undefined }); // no acceptDirect
  const events = recorder();
  client(t).openDirect(address, events).send({ replyTo: 'r', submit: new Uint8Array([1]) });
  await until('the client hears of it', () => events.ends.length === 1);
  t.match(events.ends[0], { unsupported: true, message: /UNIMPLEMENTED/ });
});

t.test('a DirectSubmit the worker cannot read ends the stream with INVALID_ARGUMENT', async (t) => {
  const { address, server } = await serve(t);
  const raw = new Client(address, credentials.createInsecure());
  t.teardown(() => raw.close());
  const id = (b: Buffer): Buffer => b;
  const call = raw.makeBidiStreamRequest(DIRECT_PATH, id, id);
  const status = new Promise<{ code: number; details: string }>((resolve) => call.on('error', resolve));
  call.write(Buffer.from([0x0a, 0x05, 0x61]));
  const error = await status;
  t.equal(error.code, 3, 'INVALID_ARGUMENT');
  t.match(error.details, /malformed DirectSubmit/);
  t.equal(server.received.length, 0);
  await until('the worker dropped it', () => server.closed.length === 1);
  t.match(server.closed[0], { message: /malformed DirectSubmit/ });
});

t.test('a submission too big for a stream is not sent on it', async (t) => {
  const { address, server } = await serve(t);
  const events = recorder();
  const stream = client(t).openDirect(address, events);
  t.equal(stream.send({ replyTo: 'r', submit: new Uint8Array(DIRECT_SUBMIT_BYTES_MAX) }), false);
  t.equal(stream.send({ replyTo: 'r', submit: new Uint8Array(DIRECT_SUBMIT_BYTES_MAX - 1024) }), true, 'one that fits is');
  await until('it arrives', () => server.received.length === 1);
  t.same(events.ends, []);
});
