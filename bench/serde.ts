/**
 * What floe's codecs add to big task arguments and results, against msgpackr alone: the
 * client encoding arguments (serde/args.ts encodeArgs, whose general walk takes anything
 * but flat lists), a pool thread decoding them (decodeArgs) and serializing a result with
 * the default msgpack serializer (its class-instance pre-check, serde/builtins.ts) or json.
 * Milliseconds per call, the median of `reps` calls after as many of warm-up, one process.
 *
 *   node --import=tsx bench/serde.ts [reps]   (default 20)
 *
 * On 2026-12-07 (2 cores): encoding one argument of 100k numbers took 9.7 ms before its walk
 * made path text only for errors, 3.2 after; serializing a result of 100k numbers took 45.7
 * ms before the pre-check stopped at its budget, 3.4 after (msgpackr's pack alone 4.0-5.5).
 */
import { Packr } from 'msgpackr';
import { decodeArgs, encodeArgs } from '../src/serde/args.ts';
import { createPackr, jsonSerializer, msgpackSerializer } from '../src/serde/builtins.ts';
import { median } from './stats.ts';

const reps = Number(process.argv[2] ?? 20);
const packr = createPackr();
const plain = new Packr();
const none = (): undefined => undefined;

/** Median ms of `fn` over `reps` calls, after as many unmeasured ones. */
function time(fn: () => unknown): number {
  for (let i = 0; i < reps; i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const values: Record<string, unknown> = {
  '100k numbers': Array.from({ length: 100_000 }, (_, i) => i * 1.5),
  '10k records': Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a', 'b'] })),
};

console.log(`serde bench: ms per call, median of ${reps} after ${reps}, node ${process.version}`);
for (const [name, value] of Object.entries(values)) {
  const args = encodeArgs([value], none).bytes;
  const row = {
    'encodeArgs': time(() => encodeArgs([value], none)),
    'decodeArgs': time(() => decodeArgs(args, none)),
    'msgpack result': time(() => msgpackSerializer.serialize(value)),
    'json result': time(() => jsonSerializer.serialize(value)),
    "floe's Packr pack": time(() => packr.pack(value)),
    "floe's Packr unpack": time(() => packr.unpack(args)),
    'msgpackr defaults pack': time(() => plain.pack(value)),
  };
  console.log(`${name}: ${Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
}
