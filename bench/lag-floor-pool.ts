/**
 * Pool thread of the task-lag floor's nodes (bench/lag-floor-node.ts): runs a chunk of
 * tasks in order as floe's stamp task does (unpack the input, stamp, pack the result) and
 * returns [index, result bytes, ...]. A task's input is made earlier in the chunk or comes
 * with it (`inputs`). Loaded compiled (dist/bench/lag-floor-pool.js), as floe's pool
 * threads load dist/src/runtime/thread.js.
 */
import { floorPackr, NO_INPUT, type FloorChunk } from './lag-floor-wire.ts';

const now = (): number => performance.timeOrigin + performance.now();

export default function runChunk({ tasks, inputs }: FloorChunk): unknown[] {
  const made = new Map<number, Uint8Array>(inputs);
  const out: unknown[] = [];
  for (const [index, input] of tasks) {
    const bytes = input === NO_INPUT ? undefined : made.get(input);
    if (input !== NO_INPUT && bytes === undefined) throw new Error(`task ${index}: its input ${input} is not in its chunk`);
    const upstream: unknown[] = bytes === undefined ? [] : [floorPackr.unpack(bytes)];
    const s = now();
    const result = floorPackr.pack({ s, e: now(), inputs: upstream.length });
    made.set(index, result);
    out.push(index, result);
  }
  return out;
}
