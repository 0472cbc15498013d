/**
 * The msgpack writer for flat task arguments (src/serde/flat-writer.ts): for every value it
 * takes, the same bytes as msgpackr (the general path, encodeAnyArgs), and the bytes of an
 * earlier encoding never change.
 */
import t from 'tap';
import { decodeArgs, encodeArgs, FutureRef } from '../../src/serde/index.ts';
import { encodeAnyArgs } from '../../src/serde/args.ts';
import { writeFlat } from '../../src/serde/flat-writer.ts';

class Fut {
  constructor(readonly key: string) {}
}
const toRef = (v: unknown): FutureRef | undefined => (v instanceof Fut ? new FutureRef(v.key) : undefined);

/** A seeded generator (mulberry32): the same values on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Numbers at and around every boundary of msgpack's integer forms, and some that are not integers. */
const NUMBERS = [
  0, -0, 1, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000,
  -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -0x80000000, -0x80000001,
  2.5, -7.25, 1e300, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, NaN, Infinity, -Infinity, 5e-324,
];

/** Characters of every UTF-8 length, and lone surrogates (written as U+FFFD). */
const CHARS = ['a', 'Z', '0', ' ', '~', '\u0000', 'é', 'ß', 'ж', '€', '中', '😀', '\ud800', '\udfff'];

function randomString(rnd: () => number): string {
  const lengths = [0, 1, 5, 31, 32, 33, 63, 64, 85, 86, 255, 256, 300, 1000, 5000];
  const length = lengths[Math.floor(rnd() * lengths.length)]!;
  const ascii = rnd() < 0.5;
  let s = '';
  for (let i = 0; i < length; i++) s += ascii ? String.fromCharCode(32 + Math.floor(rnd() * 95)) : CHARS[Math.floor(rnd() * CHARS.length)]!;
  return s;
}

function randomItem(rnd: () => number): unknown {
  const r = rnd();
  if (r < 0.3) return NUMBERS[Math.floor(rnd() * NUMBERS.length)]!;
  if (r < 0.35) return (rnd() - 0.5) * 2 ** Math.floor(rnd() * 64);
  if (r < 0.6) return randomString(rnd);
  if (r < 0.65) return rnd() < 0.5;
  if (r < 0.7) return null;
  return new Fut(`k-${Math.floor(rnd() * 50)}${rnd() < 0.1 ? 'é' : ''}`);
}

function randomArgs(rnd: () => number): unknown[] {
  const args: unknown[] = [];
  const count = Math.floor(rnd() * 20);
  for (let i = 0; i < count; i++) {
    if (rnd() < 0.3) args.push(Array.from({ length: Math.floor(rnd() * 40) }, () => randomItem(rnd)));
    else args.push(randomItem(rnd));
  }
  return args;
}

void t.test('flat arguments: the same bytes as msgpackr, for every kind of value and size', (t) => {
  const rnd = random(7);
  const kept: { bytes: Uint8Array; copy: Buffer }[] = [];
  let mismatches = 0;
  for (let round = 0; round < 3000; round++) {
    const args = randomArgs(rnd);
    const fast = encodeArgs(args, toRef);
    const general = encodeAnyArgs(args, toRef);
    if (!Buffer.from(fast.bytes).equals(Buffer.from(general.bytes))) {
      const shown = JSON.stringify(args, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)).slice(0, 300);
      if (mismatches++ < 3) t.fail(`round ${round}: bytes differ for ${shown}`);
    }
    if (fast.deps.join('\u0000') !== general.deps.join('\u0000')) {
      if (mismatches++ < 3) t.fail(`round ${round}: deps differ: ${fast.deps.join(', ')} against ${general.deps.join(', ')}`);
    }
    if (round % 10 === 0) kept.push({ bytes: fast.bytes, copy: Buffer.from(fast.bytes) });
  }
  t.equal(mismatches, 0, 'no encoding or deps differed in 3,000 rounds');
  t.ok(
    kept.every((k) => Buffer.from(k.bytes).equals(k.copy)),
    'the bytes of earlier encodings stay as they were while later ones fill and replace the buffer',
  );
  t.end();
});

void t.test('flat arguments: what the writer leaves to msgpackr, and what decodes', (t) => {
  const refKey = (v: object): string | undefined => (v instanceof FutureRef && v.path.length === 0 ? v.key : undefined);
  t.equal(writeFlat([undefined], refKey), undefined, 'undefined');
  t.equal(writeFlat([[1, 10n]], refKey), undefined, 'a bigint');
  t.equal(writeFlat([new FutureRef('a', [1])], refKey), undefined, 'a ref to part of a result');
  t.equal(writeFlat([{ x: 1 }], refKey), undefined, 'an object that is not a ref');
  t.equal(writeFlat(['x'.repeat(5000)], refKey), undefined, 'a string too long for it');
  t.ok(writeFlat(['x'.repeat(4000)], refKey) !== undefined, 'a long string it takes');
  const args = [1, 'two', new Fut('a'), [new Fut('b'), -3.5, 'ж😀', null, true], 0x1234, 'x'.repeat(300)];
  const decoded = decodeArgs(encodeArgs(args, toRef).bytes, (ref) => `<${ref.key}>`);
  t.same(decoded, [1, 'two', '<a>', ['<b>', -3.5, 'ж😀', null, true], 0x1234, 'x'.repeat(300)], 'decodes with the refs resolved');
  t.end();
});

void t.test('flat arguments: a ref whose key ends exactly at the end of a buffer', (t) => {
  const refKey = (v: object): string | undefined => (v instanceof FutureRef && v.path.length === 0 ? v.key : undefined);
  const key = 'k'.repeat(300);
  // [ref]: the array's header, the extension's tag (3) and [ (1), the key's header (3) and bytes, ] (1).
  const size = 1 + 4 + 3 + key.length + 1;
  let last = writeFlat([], refKey)!;
  const end = last.buffer.byteLength;
  // Into a new buffer (a write that does not fit takes what it has along), then to the place
  // from which the key's last byte is the buffer's last: `[]` writes one byte.
  const first = last.buffer;
  while (last.buffer === first) last = writeFlat(['x'.repeat(4000)], refKey)!;
  const target = end - size + 1;
  while (last.byteOffset + last.byteLength < target) {
    const gap = target - (last.byteOffset + last.byteLength);
    last = (gap > 4100 ? writeFlat(['x'.repeat(4000)], refKey) : writeFlat([], refKey))!;
  }
  t.equal(last.byteOffset + last.byteLength, target, 'the next write starts where its key ends at the buffer end');
  const bytes = writeFlat([new FutureRef(key)], refKey);
  const general = encodeAnyArgs([new Fut(key)], toRef).bytes;
  t.ok(bytes !== undefined && Buffer.from(bytes).equals(Buffer.from(general)), "msgpackr's bytes, the closing one included");
  t.end();
});
