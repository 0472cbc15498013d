/**
 * The data plane's hand-written FetchChunk encoding against protobufjs: the same bytes,
 * decodable by any protobuf decoder, at varint and chunk-size edges.
 */
import t from 'tap';
import { chunkTotalBytes, deserializeChunk, serializeChunk, type FetchChunkOut } from '../../src/dataplane/grpc-wire.ts';
import { protoRoot } from '../../src/transport/codec.ts';

const fetchChunk = protoRoot().lookupType('floe.v1.FetchChunk');

function pattern(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

void t.test('chunks encode as protobufjs would and decode to the same fields', async (t) => {
  // Around the varint length boundaries (1, 2, 3, 4 bytes) and the largest chunkBytes.
  for (const n of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 16 * 1024 * 1024]) {
    const data = pattern(n);
    const chunks: [string, FetchChunkOut][] = [
      ['first', { totalBytes: 2 ** 40 + 1, serializer: { id: 'raw', module: 'file:///s.ts' }, data }],
      ['later', { data }],
    ];
    for (const [which, chunk] of chunks) {
      const mine = Buffer.from(serializeChunk(chunk)); // copied: the next call reuses the buffer
      t.ok(mine.equals(Buffer.from(fetchChunk.encode(chunk).finish())), `${n} bytes, ${which}: same bytes as protobufjs`);
      const back = deserializeChunk(mine);
      t.ok(Buffer.from(back.data).equals(Buffer.from(data)), `${n} bytes, ${which}: data`);
      if (which === 'first') {
        t.equal(chunkTotalBytes(back), 2 ** 40 + 1);
        t.same({ id: back.serializer?.id, module: back.serializer?.module }, { id: 'raw', module: 'file:///s.ts' });
      }
    }
  }
});

void t.test('a data view with an offset into a bigger buffer encodes only its bytes', async (t) => {
  const whole = pattern(10_000);
  const view = whole.subarray(1234, 5678);
  const back = deserializeChunk(Buffer.from(serializeChunk({ data: view })));
  t.ok(Buffer.from(back.data).equals(Buffer.from(view)));
});
