// Helpers of the reliable link tests (test/unit/reliable*.test.ts): endpoints on manual
// timers, u32 payloads, a collector per sender session, and waiting in simulated time.
import { ReliableEndpoint, type ReliableOptions } from '../../src/transport/reliable.ts';
import type { Transport } from '../../src/transport/transport.ts';
import type { ManualTimers } from './lossy-bus.ts';

export const SUBJECT = 'floe.t.coord.events';

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
export function fromU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

export function endpoint(transport: Transport, timers: ManualTimers, id: string, extra: Partial<ReliableOptions> = {}): ReliableEndpoint {
  return new ReliableEndpoint({
    transport,
    ackSubject: `floe.t.ack.${id}`,
    sessionId: `session-${id}`,
    timers,
    ackDelayMs: 1,
    retransmitMs: 5,
    ...extra,
  });
}

/** Collects delivered u32 payloads per sender session. */
export function collector(rx: ReliableEndpoint, subject = SUBJECT): Map<string, number[]> {
  const got = new Map<string, number[]>();
  rx.listen(subject, (payload, sender) => {
    let list = got.get(sender.session);
    if (list === undefined) got.set(sender.session, (list = []));
    list.push(fromU32(payload));
  });
  return got;
}

/** Advances time in small steps until `cond` holds; fails after `msMax` simulated ms. */
export async function until(timers: ManualTimers, cond: () => boolean, msMax = 60_000): Promise<void> {
  const start = timers.now;
  while (!cond()) {
    if (timers.now - start > msMax) throw new Error(`condition still false after ${msMax} simulated ms`);
    await timers.advance(1);
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** First index where `got` differs from `want`, or -1: keeps failure output small for long runs. */
export function firstDifference(got: number[] | undefined, want: number[]): number {
  if (got === undefined) return 0;
  for (let i = 0; i < Math.max(got.length, want.length); i++) if (got[i] !== want[i]) return i;
  return -1;
}
