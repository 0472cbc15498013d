/**
 * GrpcDataPlane.fetch against a holder that streams an inconsistent object: a server of the
 * test's own speaks the data plane's Fetch method (its service definition and chunk
 * encoder) over real gRPC on 127.0.0.1, but sends the chunks each case says. The fetch must
 * fail with the code the data plane's error contract names, never hand back a partial or
 * overlong object.
 */
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import t from 'tap';
import { isFloeError, type ErrorCode } from '../../src/errors.ts';
import { GrpcDataPlane } from '../../src/dataplane/grpc.ts';
import { DATA_PLANE_SERVICE, type DecodedRequest, type FetchChunkOut } from '../../src/dataplane/grpc-wire.ts';

const SERIALIZER = { id: 'raw', module: '' };
const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7);

/** What the rogue holder streams for each object id. */
const STREAMS: Record<string, FetchChunkOut[]> = {
  whole: [{ totalBytes: 10, serializer: SERIALIZER, data: bytes(6) }, { data: bytes(4) }],
  'no-header': [{ data: bytes(10) }],
  overlong: [{ totalBytes: 10, serializer: SERIALIZER, data: bytes(6) }, { data: bytes(6) }],
  truncated: [{ totalBytes: 10, serializer: SERIALIZER, data: bytes(6) }],
  empty: [],
};

async function rogueHolder(): Promise<{ address: string; stop: () => void }> {
  const server = new Server();
  server.addService(DATA_PLANE_SERVICE, {
    Fetch: (call: ServerWritableStream<DecodedRequest, FetchChunkOut>) => {
      const request = call.request;
      for (const chunk of 'id' in request ? (STREAMS[request.id] ?? []) : []) call.write(chunk);
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

t.test('an inconsistent stream fails the fetch with the contract code', async (t) => {
  const holder = await rogueHolder();
  const dp = new GrpcDataPlane({ closeTimeoutMs: 0 });
  t.teardown(async () => {
    await dp.close();
    holder.stop();
  });

  for (const shared of [false, true]) {
    const whole = await dp.fetch(holder.address, 'whole', { sharedMemory: shared });
    t.same([...whole.bytes], [...bytes(10)], `a consistent stream arrives whole (shared memory: ${shared})`);
    t.equal(whole.bytes.buffer instanceof SharedArrayBuffer, shared, 'in the kind of memory asked for');
    t.same(whole.serializer, SERIALIZER, 'with its serializer');
  }

  const cases: Array<[string, ErrorCode, RegExp]> = [
    ['no-header', 'MALFORMED_MESSAGE', /first chunk of no-header .* has no valid header/],
    ['overlong', 'MALFORMED_MESSAGE', /overlong .* is longer than its 10 bytes/],
    ['truncated', 'RESULT_UNAVAILABLE', /truncated: 6 of 10 bytes/],
    ['empty', 'RESULT_UNAVAILABLE', /ended without data \(truncated\)/],
  ];
  for (const [id, code, message] of cases) {
    const error = await dp.fetch(holder.address, id).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(isFloeError(error), `${id}: a FloeError`);
    t.equal(isFloeError(error) ? error.code : undefined, code, `${id}: ${code}`);
    t.match(isFloeError(error) ? error.message : '', message, `${id}: the message says what was wrong`);
  }
});
