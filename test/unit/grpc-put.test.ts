/**
 * Puts over the gRPC data plane (dataplane/grpc-put.ts): PutChunk is written and read as
 * protobufjs does floe.v1.PutChunk; a value arrives whole, in shared memory, with its
 * header; the worker's refusal reaches the client with its code and reason; and a stream
 * whose chunks disagree with its header is refused, naming what is wrong, without
 * reaching the worker.
 */
import t from 'tap';
import { Client, Server, ServerCredentials, credentials, type ServiceError } from '@grpc/grpc-js';
import { FloeError } from '../../src/errors.ts';
import { GrpcDataPlane } from '../../src/dataplane/grpc.ts';
import type { PutRequest } from '../../src/dataplane/dataplane.ts';
import type { EventEmitter } from 'node:events';
import type { ServerHttp2Session } from 'node:http2';
import { PUT_CHUNK_BYTES, PUT_PATH, PUT_WINDOW_BYTES, deserializePutChunk, serializePutChunk, widenReceiveWindows, type PutChunk } from '../../src/dataplane/grpc-put.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { protoRoot } from '../../src/transport/codec.ts';
import { rejection, until, type Teardown } from '../helpers/e2e.ts';

const header = { replyTo: '_INBOX.put.1', submit: new Uint8Array([8, 1, 82, 3, 1, 2, 3]), totalBytes: 5 };

t.test('PutChunk is written as protobufjs writes floe.v1.PutChunk, and read back', async (t) => {
  const type = protoRoot().lookupType('floe.v1.PutChunk');
  const first: PutChunk = { header, data: new Uint8Array([1, 2, 3]) };
  t.same([...serializePutChunk(first)], [...type.encode({ ...header, data: first.data }).finish()], 'a first chunk');
  const next: PutChunk = { data: new Uint8Array([4, 5]) };
  t.same([...serializePutChunk(next)], [...type.encode({ data: next.data }).finish()], 'a later chunk');
  const read = deserializePutChunk(Buffer.from(type.encode({ ...header, data: first.data }).finish()));
  t.same(read, { header, data: first.data }, 'read back');
  t.same(deserializePutChunk(Buffer.from(type.encode({ data: next.data }).finish())), { data: next.data });
  const copy: PutChunk = { header: { replyTo: '', submit: header.submit, totalBytes: 5, copy: true }, data: new Uint8Array([1]) };
  t.same([...serializePutChunk(copy)], [...type.encode({ submit: header.submit, totalBytes: 5, data: copy.data, copy: true }).finish()], 'a copy (no reply subject)');
  t.same(deserializePutChunk(Buffer.from(type.encode({ submit: header.submit, totalBytes: 5, data: copy.data, copy: true }).finish())), copy, 'a copy read back');
  // Several values (Client.putMany): their sizes, packed as protobufjs packs repeated numbers.
  const sizes = [2, 0, 3, 2 ** 33 - 5];
  const many: PutChunk = { header: { ...header, totalBytes: 2 ** 33, valueBytes: sizes }, data: new Uint8Array([1]) };
  const encoded = type.encode({ ...header, totalBytes: 2 ** 33, data: many.data, valueBytes: sizes }).finish();
  t.same([...serializePutChunk(many)], [...encoded], 'several values');
  t.same(deserializePutChunk(Buffer.from(encoded)), many, 'several values read back');
  // Not packed (as another writer may send them): the same.
  const unpacked = Buffer.concat([Buffer.from(type.encode({ ...header, totalBytes: 5, data: many.data }).finish()), Buffer.from([6 << 3, 2, 6 << 3, 3])]);
  t.same(deserializePutChunk(unpacked), { header: { ...header, totalBytes: 5, valueBytes: [2, 3] }, data: many.data }, 'sizes not packed read back');
});

t.test('a PutChunk that cannot be read says why', async (t) => {
  const type = protoRoot().lookupType('floe.v1.PutChunk');
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', serializePutChunk({ header, data: new Uint8Array(10) }).subarray(0, 12), /malformed PutChunk/],
    ['data as a varint', new Uint8Array([4 << 3, 1]), /field 4 has wire type 0/],
    ['no reply subject', type.encode({ submit: header.submit, totalBytes: 5 }).finish(), /reply_to is missing/],
    ['no submission', type.encode({ replyTo: 'r', totalBytes: 5 }).finish(), /submit is missing/],
    ['no size', type.encode({ replyTo: 'r', submit: header.submit }).finish(), /total_bytes is missing/],
    ['sizes that do not add up', type.encode({ ...header, totalBytes: 5, valueBytes: [2, 2] }).finish(), /value_bytes add up to 4 bytes, not the 5 of total_bytes/],
    ['one size', type.encode({ ...header, totalBytes: 5, valueBytes: [5] }).finish(), /value_bytes has one size/],
    ['a size as bytes of the wrong length', Buffer.concat([Buffer.from(type.encode({ ...header }).finish()), Buffer.from([(6 << 3) | 2, 3, 1])]), /malformed PutChunk/],
  ];
  for (const [what, bytes, reason] of cases) {
    const read = deserializePutChunk(Buffer.from(bytes));
    t.ok('bad' in read && reason.test(read.bad), `${what}: ${'bad' in read ? read.bad : 'read'}`);
  }
});

/** A plane taking puts with `accept`, and one to put from. */
async function planes(t: Teardown, accept?: (put: PutRequest) => Promise<void>): Promise<{ address: string; from: GrpcDataPlane; taken: PutRequest[] }> {
  const server = new GrpcDataPlane({ closeTimeoutMs: 100 });
  const taken: PutRequest[] = [];
  if (accept !== undefined) {
    server.acceptPuts((put) => {
      taken.push(put);
      return accept(put);
    });
  }
  const address = await server.serve('w1', { get: () => undefined });
  const from = new GrpcDataPlane();
  t.teardown(async () => {
    await from.close();
    await server.close();
  });
  return { address, from, taken };
}

t.test('a value of several chunks arrives whole, in shared memory, with its header', async (t) => {
  const { address, from, taken } = await planes(t, () => Promise.resolve());
  const bytes = Uint8Array.from({ length: 3 * PUT_CHUNK_BYTES + 777 }, (_, i) => (i * 7 + 1) % 253);
  await from.put(address, { replyTo: header.replyTo, submit: header.submit, bytes });
  t.equal(taken.length, 1);
  const got = taken[0]!;
  t.same([got.replyTo, [...got.submit]], [header.replyTo, [...header.submit]]);
  t.ok(got.bytes.buffer instanceof SharedArrayBuffer, 'in shared memory');
  t.equal(Buffer.compare(Buffer.from(got.bytes), Buffer.from(bytes)), 0, 'every byte');
  await from.put(address, { replyTo: 'r2', submit: header.submit, bytes: new Uint8Array(0) });
  t.equal(taken[1]?.bytes.byteLength, 0, 'an empty value too');
});

t.test('several values arrive in one stream with their sizes', async (t) => {
  const { address, from, taken } = await planes(t, () => Promise.resolve());
  const bytes = Uint8Array.from({ length: PUT_CHUNK_BYTES + 10 }, (_, i) => i % 251);
  await from.put(address, { replyTo: 'r', submit: header.submit, bytes, sizes: [10, PUT_CHUNK_BYTES - 5, 5] });
  t.same(taken[0]?.sizes, [10, PUT_CHUNK_BYTES - 5, 5], 'the sizes');
  t.equal(Buffer.compare(Buffer.from(taken[0]!.bytes), Buffer.from(bytes)), 0, 'every byte');
});

t.test("the worker's refusal reaches the client with its code and reason", async (t) => {
  const refusals = [
    new FloeError('KEY_CONFLICT', 'this worker has a task or result c1/put-1 already'),
    new FloeError('WORKER_LOST', 'this worker is leaving the cluster', { retryable: true }),
    new FloeError('MALFORMED_MESSAGE', 'a put carries a submission, not status'),
  ];
  let next = 0;
  const { address, from } = await planes(t, () => Promise.reject(refusals[next++]!));
  for (const [code, reason] of [['KEY_CONFLICT', /c1\/put-1 already/], ['WORKER_LOST', /leaving/], ['INVALID_ARGUMENT', /not status/]] as const) {
    const error = await rejection(from.put(address, { replyTo: 'r', submit: header.submit, bytes: new Uint8Array(3) }));
    t.equal(error.code, code, code);
    t.match(error.message, reason);
    t.match(error.message, address, 'names the worker');
  }
});

t.test('a worker that takes no puts says so', async (t) => {
  const { address, from } = await planes(t);
  const error = await rejection(from.put(address, { replyTo: 'r', submit: header.submit, bytes: new Uint8Array(3) }));
  t.equal(error.code, 'INVALID_ARGUMENT');
  t.match(error.message, /takes no puts/);
});

t.test('a stream that disagrees with its header is refused, and the worker never sees it', async (t) => {
  const { address, taken } = await planes(t, () => Promise.resolve());
  const raw = new Client(address, credentials.createInsecure());
  t.teardown(() => raw.close());
  const send = (chunks: PutChunk[]): Promise<ServiceError> =>
    new Promise((resolve, reject) => {
      const call = raw.makeClientStreamRequest(PUT_PATH, serializePutChunk, () => ({}), (error: ServiceError | null) => {
        if (error === null) reject(new Error('accepted'));
        else resolve(error);
      });
      for (const c of chunks) call.write(c);
      call.end();
    });
  const cases: [string, PutChunk[], RegExp][] = [
    ['nothing sent', [], /sent no PutChunk/],
    ['no header', [{ data: new Uint8Array(5) }], /first PutChunk has no header/],
    ['a header twice', [{ header, data: new Uint8Array(2) }, { header, data: new Uint8Array(3) }], /after the first has a header/],
    ['too long', [{ header, data: new Uint8Array(4) }, { data: new Uint8Array(2) }], /longer than the 5 bytes/],
    ['too short', [{ header, data: new Uint8Array(4) }], /has 4 of the 5 bytes/],
    ['too big to hold', [{ header: { ...header, totalBytes: 2 ** 50 }, data: new Uint8Array(1) }], /cannot hold a value of/],
  ];
  for (const [what, chunks, reason] of cases) {
    const error = await send(chunks);
    t.match(error.details, reason, what);
  }
  t.equal(taken.length, 0, 'nothing reached the worker');
});

t.test("a server that takes puts opens wide HTTP/2 windows to its clients (grpc-js offers no option for it)", async (t) => {
  const server = new Server();
  t.equal(widenReceiveWindows(server), 0, 'nothing to widen before the server is bound');
  await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
  t.teardown(() => server.forceShutdown());
  t.equal(widenReceiveWindows(server), 1, "the bound server's HTTP/2 server is found (a grpc-js without the field would fail here)");
  const h2 = [...(server as unknown as { http2Servers: Map<EventEmitter, unknown> }).http2Servers.keys()][0]!;
  const session = new Promise<ServerHttp2Session>((resolve) => h2.once('session', resolve));
  const port = (server as unknown as { http2Servers: Map<{ address(): { port: number } }, unknown> }).http2Servers.keys().next().value!.address().port;
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(() => client.close());
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
  const state = (await session).state;
  t.ok((state.effectiveLocalWindowSize ?? 0) >= PUT_WINDOW_BYTES, `the connection's window is widened (${state.effectiveLocalWindowSize})`);
  const warnings: unknown[] = [];
  const plane = new GrpcDataPlane({ logger: { ...silentLogger, warn: (fields: unknown) => warnings.push(fields) } });
  plane.acceptPuts(() => Promise.resolve());
  await plane.serve('w9', { get: () => undefined });
  t.teardown(() => plane.close());
  t.same(warnings, [], 'the data plane widened its windows without a warning');
});

t.test('an aborted put rejects with CANCELLED', async (t) => {
  let taken = 0;
  const { address, from } = await planes(t, () => {
    taken += 1;
    return new Promise<void>(() => undefined); // the worker never answers
  });
  const upload = new AbortController();
  const putting = from.put(address, { replyTo: 'r', submit: header.submit, bytes: new Uint8Array(3 * PUT_CHUNK_BYTES) }, { signal: upload.signal });
  await until('the worker has the value', () => taken === 1);
  upload.abort();
  const error = await rejection(putting);
  t.equal(error.code, 'CANCELLED');
  t.match(error.message, /cancelled/);
  const early = new AbortController();
  early.abort();
  t.equal((await rejection(from.put(address, { replyTo: 'r', submit: header.submit, bytes: new Uint8Array(1) }, { signal: early.signal }))).code, 'CANCELLED', 'aborted before it started');
});
