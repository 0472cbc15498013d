/**
 * Where a single-task round trip spends its time, hop by hop, from syscall timestamps
 * (bench/round-trip-profile.ts records them with perf on every process of a local cluster).
 * Every message between floe's processes is a socket write in one process and a socket read
 * in another, and a pool thread wakes its worker's main thread with an 8-byte eventfd write,
 * so the moments a round trip passes each process can be read off those syscalls without
 * touching floe's code.
 *
 * Reads `perf script --ns -F pid,tid,time,event,trace` output of the tracepoints
 * syscalls:sys_enter_write, sys_enter_writev and sys_exit_read, recorded with
 * `-k CLOCK_MONOTONIC` so that its times compare with `process.hrtime.bigint()`.
 */

export interface SyscallEvent {
  pid: number;
  /** The thread; the main thread's is the pid. */
  tid: number;
  /** CLOCK_MONOTONIC, µs. */
  us: number;
  kind: 'write' | 'read';
  /** Bytes asked to write, or read; -1 for writev (its size is not in the tracepoint). */
  bytes: number;
}

/** `  1234/1240 25075.988193112:  syscalls:sys_enter_write: fd: 0x00000012, buf: 0x..., count: 0x00000008` */
const LINE = /^\s*(\d+)\/(\d+)\s+(\d+)\.(\d+):\s+syscalls:sys_(enter_write|enter_writev|exit_read):\s*(.*)$/;

/** The writes and successful reads in a perf script text, oldest first. */
export function parseSyscalls(text: string): SyscallEvent[] {
  const events: SyscallEvent[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, pid, tid, seconds, fraction, call, rest] = m as unknown as string[];
    // Whole seconds and nanoseconds apart: "0.000150000" * 1e6 is not 150 in a double.
    const us = Number(seconds) * 1e6 + Number(fraction!.padEnd(9, '0').slice(0, 9)) / 1e3;
    let bytes: number;
    if (call === 'exit_read') {
      const ret = Number.parseInt(rest!.trim().split(/\s+/)[0]!, 16);
      // Errors (EAGAIN: -11 as 0xfff...5) and end of file are not reads of anything.
      if (!Number.isFinite(ret) || ret <= 0 || ret >= 2 ** 62) continue;
      bytes = ret;
    } else if (call === 'enter_write') {
      bytes = Number.parseInt(/count: (0x[0-9a-f]+)/.exec(rest!)?.[1] ?? '-1', 16);
    } else {
      bytes = -1;
    }
    events.push({ pid: Number(pid), tid: Number(tid), us, kind: call === 'exit_read' ? 'read' : 'write', bytes });
  }
  return events.sort((a, b) => a.us - b.us);
}

/** The cluster's processes by role. */
export interface RoundTripPids {
  client: number;
  coordinator: number;
  workers: readonly number[];
}

/** One round trip as the client saw it: from the `submit()` call to the result in hand (CLOCK_MONOTONIC, µs). */
export interface RoundTripWindow {
  startUs: number;
  endUs: number;
}

/** The steps of a round trip through the coordinator, in order; their durations add up to the whole. */
export const HOP_STEPS = [
  'client: submit() to the message written',
  'hop: client -> coordinator',
  'coordinator: submission read to assignment written',
  'hop: coordinator -> worker',
  'worker: assignment read to the pool thread done',
  'worker: pool thread done to the result written',
  'hop: worker -> client',
  'client: result read to the caller',
] as const;
export type HopStep = (typeof HOP_STEPS)[number];

/** The µs of each step of one round trip. */
export type HopTimes = Record<HopStep, number>;

/**
 * The steps of a round trip submitted directly to a worker (client/direct.ts). The worker
 * passes the submission on to the coordinator meanwhile, whose answer is off this path.
 */
export const DIRECT_HOP_STEPS = [
  'client: submit() to the message written',
  'hop: client -> worker',
  'worker: submission read to the pool thread done',
  'worker: pool thread done to the result written',
  'hop: worker -> client',
  'client: result read to the caller',
] as const;
export type DirectHopStep = (typeof DIRECT_HOP_STEPS)[number];
export type DirectHopTimes = Record<DirectHopStep, number>;

/** A message between processes: not an eventfd wake-up (exactly 8 bytes). */
const isMessage = (e: SyscallEvent): boolean => e.bytes !== 8;
const onMain = (e: SyscallEvent): boolean => e.tid === e.pid;

/**
 * Splits each round trip into its steps, or leaves it out (in `skipped`) when a step is not
 * found in it: e.g. a heartbeat or an acknowledgement read in the middle can make a step
 * ambiguous, which shows as a missing worker read or a read out of order. A message a
 * process reads is taken to be the one the previous step wrote: on an otherwise idle
 * cluster only the round trip's own messages move.
 */
export function hopTimes(events: readonly SyscallEvent[], pids: RoundTripPids, windows: readonly RoundTripWindow[]): { trips: HopTimes[]; skipped: number } {
  const workers = new Set(pids.workers);
  return splitWindows(events, windows, (ev, w) => splitTrip(ev, pids, workers, w));
}

/** hopTimes for round trips submitted directly to a worker (DIRECT_HOP_STEPS). */
export function directHopTimes(
  events: readonly SyscallEvent[], pids: RoundTripPids, windows: readonly RoundTripWindow[],
): { trips: DirectHopTimes[]; skipped: number } {
  const workers = new Set(pids.workers);
  return splitWindows(events, windows, (ev, w) => splitDirectTrip(ev, pids, workers, w));
}

function splitWindows<T>(
  events: readonly SyscallEvent[], windows: readonly RoundTripWindow[], split: (ev: readonly SyscallEvent[], w: RoundTripWindow) => T | undefined,
): { trips: T[]; skipped: number } {
  const trips: T[] = [];
  let skipped = 0;
  let from = 0;
  for (const w of windows) {
    while (from < events.length && events[from]!.us < w.startUs) from++;
    let to = from;
    while (to < events.length && events[to]!.us <= w.endUs) to++;
    const trip = split(events.slice(from, to), w);
    if (trip === undefined) skipped++;
    else trips.push(trip);
    from = to;
  }
  return { trips, skipped };
}

/** The first event at or after `after` that is `ok`, or -1. */
function findFrom(ev: readonly SyscallEvent[], after: number, ok: (e: SyscallEvent) => boolean): number {
  for (let i = after; i < ev.length; i++) if (ok(ev[i]!)) return i;
  return -1;
}

/**
 * The run's end on `worker`, which read its task at `workerRead`: its pool thread done
 * (an eventfd write), its main thread's next message written (the result), and the
 * client's last message read after that (the result: an answer to the submission may be
 * read before it). Undefined when one is missing.
 */
function runEnd(
  ev: readonly SyscallEvent[], workerRead: number, worker: number, client: number,
): { threadDone: number; resultWrite: number; resultRead: number } | undefined {
  const threadDone = findFrom(ev, workerRead + 1, (e) => e.pid === worker && !onMain(e) && e.kind === 'write' && e.bytes === 8);
  if (threadDone < 0) return undefined;
  const resultWrite = findFrom(ev, threadDone + 1, (e) => e.pid === worker && onMain(e) && e.kind === 'write' && isMessage(e));
  if (resultWrite < 0) return undefined;
  let resultRead = -1;
  for (let i = resultWrite + 1; i < ev.length; i++) {
    const e = ev[i]!;
    if (e.pid === client && onMain(e) && e.kind === 'read' && isMessage(e)) resultRead = i;
  }
  return resultRead < 0 ? undefined : { threadDone, resultWrite, resultRead };
}

/**
 * A direct round trip: the first worker to read a message after the client's write got the
 * submission. Its first write after the pool thread is done is the result (the submission
 * passed on to the coordinator goes out before the thread is done, at the end of the turn
 * that started it).
 */
function splitDirectTrip(ev: readonly SyscallEvent[], pids: RoundTripPids, workers: ReadonlySet<number>, w: RoundTripWindow): DirectHopTimes | undefined {
  const sent = findFrom(ev, 0, (e) => e.pid === pids.client && onMain(e) && e.kind === 'write' && isMessage(e));
  if (sent < 0) return undefined;
  const workerRead = findFrom(ev, sent + 1, (e) => (workers.has(e.pid) || e.pid === pids.coordinator) && onMain(e) && e.kind === 'read' && isMessage(e));
  if (workerRead < 0 || ev[workerRead]!.pid === pids.coordinator) return undefined;
  const end = runEnd(ev, workerRead, ev[workerRead]!.pid, pids.client);
  if (end === undefined) return undefined;
  const at = (i: number): number => ev[i]!.us;
  return durations(DIRECT_HOP_STEPS, [w.startUs, at(sent), at(workerRead), at(end.threadDone), at(end.resultWrite), at(end.resultRead), w.endUs]);
}

function splitTrip(ev: readonly SyscallEvent[], pids: RoundTripPids, workers: ReadonlySet<number>, w: RoundTripWindow): HopTimes | undefined {
  const find = (after: number, ok: (e: SyscallEvent) => boolean): number => findFrom(ev, after, ok);
  const sent = find(0, (e) => e.pid === pids.client && onMain(e) && e.kind === 'write' && isMessage(e));
  if (sent < 0) return undefined;
  const coordRead = find(sent + 1, (e) => e.pid === pids.coordinator && onMain(e) && e.kind === 'read' && isMessage(e));
  if (coordRead < 0) return undefined;
  const workerRead = find(coordRead + 1, (e) => workers.has(e.pid) && onMain(e) && e.kind === 'read' && isMessage(e));
  if (workerRead < 0) return undefined;
  const worker = ev[workerRead]!.pid;
  // The assignment is the coordinator's last write before the worker read it (a reply to
  // the submission may go out before it).
  let coordWrite = -1;
  for (let i = coordRead + 1; i < workerRead; i++) {
    const e = ev[i]!;
    if (e.pid === pids.coordinator && onMain(e) && e.kind === 'write' && isMessage(e)) coordWrite = i;
  }
  if (coordWrite < 0) return undefined;
  const end = runEnd(ev, workerRead, worker, pids.client);
  if (end === undefined) return undefined;
  const at = (i: number): number => ev[i]!.us;
  const times = [w.startUs, at(sent), at(coordRead), at(coordWrite), at(workerRead), at(end.threadDone), at(end.resultWrite), at(end.resultRead), w.endUs];
  return durations(HOP_STEPS, times);
}

/** Each step's µs: `times` are the steps' boundaries, one more than the steps, in order. */
function durations<S extends string>(steps: readonly S[], times: readonly number[]): Record<S, number> {
  const out = {} as Record<S, number>;
  steps.forEach((step, i) => (out[step] = times[i + 1]! - times[i]!));
  return out;
}
