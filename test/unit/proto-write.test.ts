// proto-write's pieces against protobufjs: SerializerRef sub-messages however refs follow
// one another (the sizes of the last one's strings are remembered), and Out's byte copies.
import t from 'tap';
import type { SerializerRef } from '../../src/graph/spec.ts';
import { encodeWorkerEventsMessage } from '../../src/transport/events-encode.ts';
import { workerEvents, type WireFinished } from '../../src/transport/messages.ts';
import { messageField, Out, serializerSize, writeSerializer } from '../../src/transport/proto-write.ts';
import { lookup, reference, sameAsProtobufjs } from '../helpers/encode-check.ts';

const LONG_MODULE = `file:///srv/app/${'lib/'.repeat(40)}serializers.ts`;

/** Refs in an order that reuses, changes one string of, and returns to earlier ones. */
const refs: SerializerRef[] = [
  { id: 'msgpack', module: '' },
  { id: 'msgpack', module: '' },
  { id: 'json', module: '' },
  { id: 'csv', module: 'file:///s.js' },
  { id: 'csv', module: 'file:///t.js' },
  { id: 'csx', module: 'file:///t.js' },
  { id: 'cсx', module: 'file:///t.js' }, // a Cyrillic с: as many characters, one byte more
  { id: 'cсx', module: 'file:///ť.js' },
  { id: 'сериализатор', module: 'file:///ключ/μ.ts' },
  { id: 'csv', module: LONG_MODULE },
  { id: 'ünïcødé-and-long-enough-for-the-buffer-path-0123456789', module: `${LONG_MODULE}?ключ` },
  { id: '', module: '' },
  { id: 'msgpack', module: '' },
  { id: ['msg', 'pack'].join(''), module: ['', ''].join('') },
];

/** writeSerializer's bytes for `ref` under field 1 of a message. */
function written(ref: SerializerRef): Buffer {
  const w = new Out(Buffer.alloc(messageField(serializerSize(ref))));
  writeSerializer(w, 10, ref);
  return w.finish('SerializerRef');
}

/** protobufjs' bytes for the same: tag, length, then the SerializerRef. */
function expected(ref: SerializerRef): Buffer {
  const body = lookup('floe.v1.SerializerRef').encode(ref).finish();
  const w = new Out(Buffer.alloc(messageField(body.length)));
  w.varint(10).bytes(body);
  return w.finish('expected');
}

t.test('a SerializerRef is written as protobufjs writes it, whichever ref came before', async (t) => {
  for (let i = 0; i < refs.length; i++) {
    for (let j = 0; j < refs.length; j++) {
      // Sized after another ref, then written after another one again.
      serializerSize(refs[j]!);
      const size = serializerSize(refs[i]!);
      t.equal(size, lookup('floe.v1.SerializerRef').encode(refs[i]!).finish().length, `size of ${i} after ${j}`);
      serializerSize(refs[j]!);
      t.same(written(refs[i]!), expected(refs[i]!), `ref ${i} after ${j}`);
    }
  }
});

t.test('an absent id or module is not written', async (t) => {
  for (const ref of [{ id: 'json' }, { module: 'file:///m.js' }, {}] as unknown as SerializerRef[]) {
    serializerSize({ id: 'json', module: 'file:///m.js' });
    t.same(written(ref), expected(ref), JSON.stringify(ref));
  }
});

t.test('a ref changed in place between two messages is written as it is now', async (t) => {
  const ref: SerializerRef = { id: 'csv', module: 'file:///a.js' };
  const finished = (): WireFinished => ({ id: 'c1/a', runId: 1, nbytes: 3, serializer: ref, inline: new Uint8Array([1, 2, 3]), durationMs: 1, startedAtMs: 2 });
  const first = workerEvents('w1', 1, { finished: [finished()] });
  sameAsProtobufjs(t, first, encodeWorkerEventsMessage(first, lookup), reference(first));
  ref.module = 'file:///ключ.js';
  const second = workerEvents('w1', 1, { finished: [finished()] });
  sameAsProtobufjs(t, second, encodeWorkerEventsMessage(second, lookup), reference(second));
});

t.test('completions naming several serializers in turn', async (t) => {
  const finished = refs.map((serializer, i): WireFinished => ({
    id: `c1/t-${i}`, runId: i + 1, nbytes: i, serializer, inline: new Uint8Array(i).fill(i), durationMs: 0.5, startedAtMs: 1.7e12,
  }));
  const msg = workerEvents('w1', 3, { finished: [...finished, ...finished.reverse()] });
  sameAsProtobufjs(t, msg, encodeWorkerEventsMessage(msg, lookup), reference(msg));
});

t.test('Out.raw and Out.bytes copy views of any length and offset', async (t) => {
  const source = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
  for (const length of [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 127, 128, 200]) {
    for (const offset of [0, 1, 5]) {
      const view = new Uint8Array(source.buffer, source.byteOffset + offset, length);
      const raw = new Out(Buffer.alloc(length + 2).fill(0xee));
      raw.varint(1).raw(view).varint(2);
      t.same(raw.finish('raw'), Buffer.concat([Buffer.from([1]), view, Buffer.from([2])]), `raw ${length} at ${offset}`);
      const lengthBytes = length < 128 ? [length] : [(length & 127) | 128, length >>> 7];
      const bytes = new Out(Buffer.alloc(lengthBytes.length + length).fill(0xee));
      bytes.bytes(view);
      t.same(bytes.finish('bytes'), Buffer.concat([Buffer.from(lengthBytes), view]), `bytes ${length} at ${offset}`);
    }
  }
});
