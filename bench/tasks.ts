/**
 * Tasks the benchmark scenarios run. They live in their own module because workers import
 * tasks by (module URL, export name) in their pool threads.
 *
 * Clock: `performance.timeOrigin + performance.now()` is milliseconds since the epoch with
 * sub-millisecond resolution, comparable across threads and processes on one machine, so a
 * task's start and end stamps can be set against the client's submit time.
 */
import { task } from '../src/index.ts';

/** Start and end of one task run, in epoch milliseconds. */
export interface Stamp {
  s: number;
  e: number;
}

const now = (): number => performance.timeOrigin + performance.now();

/** A no-op that reports when it ran; `upstream` only carries the dependency (task-lag). */
export const stamp = task(import.meta.url, (_upstream: Stamp[]): Stamp => {
  const s = now();
  return { s, e: now() };
});

/** A stamp that also names the worker process it ran in (bench/lag-breakdown.ts --where). */
export interface PlacedStamp extends Stamp {
  pid: number;
}

export const placedStamp = task(import.meta.url, (_upstream: Stamp[]): PlacedStamp => {
  const s = now();
  return { s, e: now(), pid: process.pid };
});

/** The cheapest task there is (throughput, latency). */
export const noop = task(import.meta.url, (x: number) => x);

/** One node of the tree reduction. */
export const add = task(import.meta.url, (a: number, b: number) => a + b);

/** Keeps its thread busy for `ms` (a stand-in for real work), then returns `x * 2`. */
export const busyDouble = task(import.meta.url, (x: number, ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
  return x * 2;
});

/** `n` bytes, byte i = (i * 31 + seed) mod 251, kept raw (no serializer copy). */
export const makeBytes = task(
  import.meta.url,
  (n: number, seed: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) % 251;
    return out;
  },
  { serializer: 'raw' },
);

/** Consumes the bytes on another worker; returns when its input arrived and a checksum. */
export const consumeBytes = task(import.meta.url, (bytes: Uint8Array, seed: number) => {
  const s = now();
  let bad = 0;
  for (let i = 0; i < bytes.length; i += 4099) if (bytes[i] !== (i * 31 + seed) % 251) bad++;
  return { s, length: bytes.length, bad, pid: process.pid };
});

/**
 * Returns `i`; the run with `i === at` first keeps its thread busy `ms` (the straggler
 * scenario: a task of a kind that is always short, but for once). `_prev` only carries the
 * dependency of a chain.
 */
export const spinAt = task(import.meta.url, (i: number, at: number, ms: number, _prev: number | null) => {
  if (i === at) {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // busy
    }
  }
  return i;
});
