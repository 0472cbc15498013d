// Copying into shared memory through an aligned scratch buffer (src/dataplane/shared-copy.ts):
// byte-exact for every pair of source and destination alignments, and around the edges.
import t from 'tap';
import { copyIntoShared } from '../../src/dataplane/shared-copy.ts';

t.test('byte-exact for every source and destination alignment', async (t) => {
  const size = 4096 + 3;
  const source = new Uint8Array(size + 16);
  for (let i = 0; i < source.length; i++) source[i] = (i * 131 + 7) % 256;
  let wrong = 0;
  for (let from = 0; from < 16; from++) {
    for (let to = 0; to < 16; to++) {
      const out = new Uint8Array(new SharedArrayBuffer(size + 32));
      out.fill(0xee);
      const data = source.subarray(from, from + size);
      copyIntoShared(out, data, to);
      for (let i = 0; i < size; i++) if (out[to + i] !== data[i]) wrong++;
      for (let i = 0; i < to; i++) if (out[i] !== 0xee) wrong++;
      for (let i = to + size; i < out.length; i++) if (out[i] !== 0xee) wrong++;
    }
  }
  t.equal(wrong, 0, 'every byte copied, nothing around it touched');
});

t.test('a view into a shared buffer at an offset, small and empty chunks, chunks of growing size', async (t) => {
  const backing = new SharedArrayBuffer(1 << 20);
  const out = new Uint8Array(backing, 5, (1 << 20) - 5);
  const chunks = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(100_001).fill(9), new Uint8Array(300_007).fill(4)];
  let at = 0;
  for (const chunk of chunks) {
    copyIntoShared(out, chunk.subarray(chunk.length > 3 ? 3 : 0), at);
    at += chunk.length > 3 ? chunk.length - 3 : chunk.length;
  }
  t.same([...out.subarray(0, 3)], [1, 2, 3]);
  t.ok(out.subarray(3, 3 + 99_998).every((b) => b === 9), 'the 9s');
  t.ok(out.subarray(3 + 99_998, at).every((b) => b === 4), 'the 4s');
  t.equal(out[at], 0, 'nothing past the end');
});
