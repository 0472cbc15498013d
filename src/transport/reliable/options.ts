/** Options of the reliable link layer, validated up front, and its injectable timers. */
import { FloeError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../util/logger.ts';
import type { Transport } from '../transport.ts';

/**
 * The only timers the link layer uses (one ack timer and one retransmit timer per
 * endpoint, one per pending `flush()`), injectable so tests can drive time by hand.
 */
export interface ReliableTimers {
  /** `ref: false` timers must not keep the process alive. */
  setTimeout(fn: () => void, ms: number, ref: boolean): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: ReliableTimers = {
  setTimeout(fn, ms, ref) {
    const handle = setTimeout(fn, ms);
    if (!ref) handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Default ack interval. Each ack is a message and wakes its sender's process: with acks at
 * most every 5 ms, a local cluster running rounds of 10,000 no-op tasks spent 43–55 µs of
 * CPU per task in all its processes, and with 40 ms 39–49 (2 cores, bench/side-by-side.ts
 * throughput, three alternated runs; 9–16% more tasks per second).
 */
const ACK_INTERVAL_MS = 40;

export interface ReliableOptions {
  transport: Transport;
  /** Subject this endpoint receives Acks on; unique per endpoint, e.g. `floe.C.ack.<id>`. */
  ackSubject: string;
  /** Acks are batched: a frame that comes after a quiet spell is acked this long after it. Default 5. */
  ackDelayMs?: number;
  /**
   * While frames keep coming, acks go out at most once per this interval (each ack costs a
   * message, and waking its sender). Default 40, or a quarter of retransmitMs if less
   * (acks must come well within it), and never less than ackDelayMs.
   */
  ackIntervalMs?: number;
  /** A destination whose oldest frame stays unacked this long gets its unacked frames resent. Default 500. */
  retransmitMs?: number;
  /** Retransmission to a destination that stays silent backs off, doubling up to this. Default 4 × retransmitMs. */
  retransmitMaxMs?: number;
  /** Frames resent per destination at once (per check, reconnect or ack during recovery). Default 1024. */
  retransmitBatchMax?: number;
  /** Unacked frames kept per destination; `send` throws LIMIT_EXCEEDED above it. Default 100 000. */
  unackedMax?: number;
  /** Sender sessions remembered per listened subject (least recently active forgotten first). Default 10 000. */
  receiversMax?: number;
  /**
   * Frames a receiver buffers per sender session beyond a missing one, so a loss costs
   * the holes rather than everything after them. 0: drop them (pure go-back-N). Default 1024.
   */
  reorderMax?: number;
  /** Bytes of payload buffered that way per endpoint, across sessions. Default 64 MiB. */
  reorderBytesMax?: number;
  /** Default: silent. */
  logger?: Logger;
  /** Default: Node timers; the endpoint's own timers are unref'd. */
  timers?: ReliableTimers;
  /** Default: 16 random base64url characters. Fixed ids are for tests. */
  sessionId?: string;
}

export interface ResolvedOptions {
  transport: Transport;
  ackSubject: string;
  ackDelayMs: number;
  ackIntervalMs: number;
  retransmitMs: number;
  retransmitMaxRounds: number;
  retransmitBatchMax: number;
  unackedMax: number;
  receiversMax: number;
  reorderMax: number;
  reorderBytesMax: number;
  logger: Logger;
  timers: ReliableTimers;
}

export function resolveOptions(options: ReliableOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('options must be an object');
  const { transport, ackSubject } = options;
  if (typeof transport !== 'object' || transport === null || typeof transport.publish !== 'function') {
    invalid('options.transport must be a Transport');
  }
  if (typeof ackSubject !== 'string' || ackSubject === '') invalid('options.ackSubject must be a non-empty string');
  const ackDelayMs = integer(options.ackDelayMs, 'ackDelayMs', 5, 0);
  const retransmitMs = integer(options.retransmitMs, 'retransmitMs', 500, 1);
  const ackIntervalMs = integer(options.ackIntervalMs, 'ackIntervalMs', Math.max(ackDelayMs, Math.min(ACK_INTERVAL_MS, Math.floor(retransmitMs / 4))), ackDelayMs);
  const retransmitMaxMs = integer(options.retransmitMaxMs, 'retransmitMaxMs', 4 * retransmitMs, retransmitMs);
  return {
    transport,
    ackSubject,
    ackDelayMs,
    ackIntervalMs,
    retransmitMs,
    retransmitMaxRounds: Math.max(1, Math.floor(retransmitMaxMs / retransmitMs)),
    retransmitBatchMax: integer(options.retransmitBatchMax, 'retransmitBatchMax', 1024, 1),
    unackedMax: integer(options.unackedMax, 'unackedMax', 100_000, 1),
    receiversMax: integer(options.receiversMax, 'receiversMax', 10_000, 1),
    reorderMax: integer(options.reorderMax, 'reorderMax', 1024, 0),
    reorderBytesMax: integer(options.reorderBytesMax, 'reorderBytesMax', 64 * 1024 * 1024, 0),
    logger: options.logger ?? silentLogger,
    timers: options.timers ?? systemTimers,
  };
}

function integer(value: number | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) invalid(`options.${name} must be an integer >= ${min}`);
  return value;
}

function invalid(message: string): never {
  throw new FloeError('INVALID_OPTION', message);
}
