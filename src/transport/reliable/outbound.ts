/**
 * Sender half of the reliable link: per destination subject, consecutive sequence
 * numbers, the encoded frames not yet acknowledged, and go-back-N retransmission driven
 * by ONE timer per endpoint (never one per frame) and by acks during recovery.
 *
 * Time is counted in rounds (checks of the retransmit timer); each unacked frame is
 * stamped with the round it was last sent in. A frame is overdue when it has been
 * unacked for a whole round: sent in round s, overdue from round s + 2 on.
 */
import { FloeError } from '../../errors.ts';
import { decodeFrame, encodeFrame } from './frame-codec.ts';
import type { WireAck } from './frames.ts';
import type { ResolvedOptions } from './options.ts';
import type { ReliableStats } from './stats.ts';

interface Destination {
  readonly subject: string;
  /** Seq of the next frame. */
  nextSeq: number;
  /** Every seq <= acked is acknowledged; frames[head] is seq acked + 1. */
  acked: number;
  frames: Uint8Array[];
  /** Round in which frames[i] was last sent. */
  stamps: number[];
  head: number;
  /** Extra rounds the oldest frame must wait while the destination stays silent (1, 2, 4, ...). */
  backoffRounds: number;
}

interface FlushWaiter {
  /** Destination subject -> seq that must be acked. */
  readonly targets: Map<string, number>;
  readonly resolve: (done: boolean) => void;
  timer: unknown;
}

/** Acked frames are dropped from the front lazily; the array is compacted past this. */
const COMPACT_MIN = 1024;

export class Outbound {
  private readonly dests = new Map<string, Destination>();
  /**
   * Highest seq this endpoint ever assigned. A destination created anew (first send, or
   * after it was fully acked or forgotten) starts above it with `acked` = seqHigh, so a
   * receiver that remembers our session skips forward instead of taking the new frames
   * for duplicates. Fully acked destinations can therefore be deleted: state is bounded
   * by what is unacked.
   */
  private seqHigh = 0;
  private timer: unknown = undefined;
  /** Retransmit checks so far. */
  private round = 0;
  private readonly waiters = new Set<FlushWaiter>();

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly session: string,
    private readonly stats: ReliableStats,
  ) {}

  send(subject: string, payload: Uint8Array): void {
    const dest = this.dests.get(subject);
    const acked = dest?.acked ?? this.seqHigh;
    const seq = dest?.nextSeq ?? this.seqHigh + 1;
    if (seq - 1 - acked >= this.opts.unackedMax) {
      throw new FloeError(
        'LIMIT_EXCEEDED',
        `${seq - 1 - acked} frames to ${subject} are unacknowledged (unackedMax ${this.opts.unackedMax}); is the receiver alive?`,
      );
    }
    const bytes = encodeFrame({ session: this.session, seq, ackSubject: this.opts.ackSubject, payload, acked });
    const max = this.opts.transport.maxPayloadBytes;
    if (max !== undefined && bytes.byteLength > max) {
      throw new FloeError('LIMIT_EXCEEDED', `frame of ${bytes.byteLength} bytes to ${subject} exceeds the transport's ${max}`);
    }
    const d = dest ?? this.create(subject);
    d.frames.push(bytes);
    d.stamps.push(this.round);
    d.nextSeq = seq + 1;
    if (seq > this.seqHigh) this.seqHigh = seq;
    this.stats.sent += 1;
    this.publish(subject, bytes);
    this.arm();
  }

  onAck(ack: WireAck): void {
    if (ack.session !== this.session) return; // for a previous incarnation that used our ack subject
    const d = this.dests.get(ack.subject);
    if (d === undefined || ack.seq <= d.acked) return; // stale, duplicate, or a gap report (see reliable.ts)
    if (ack.seq >= d.nextSeq) {
      this.opts.logger.warn({ subject: ack.subject, seq: ack.seq, nextSeq: d.nextSeq }, 'reliable: ack beyond what was sent; ignored');
      return;
    }
    d.head += ack.seq - d.acked;
    d.acked = ack.seq;
    d.backoffRounds = 1;
    if (d.acked === d.nextSeq - 1) {
      this.dests.delete(d.subject);
      if (this.dests.size === 0) this.disarm();
    } else {
      if (d.head >= COMPACT_MIN && d.head * 2 >= d.frames.length) {
        d.frames = d.frames.slice(d.head);
        d.stamps = d.stamps.slice(d.head);
        d.head = 0;
      }
      // Recovery is ack-clocked: the receiver has everything up to an overdue frame, so
      // that one is missing: resend from it now rather than at the next check.
      if (this.round - (d.stamps[d.head] as number) >= 2) this.retransmit(d, false);
    }
    if (this.waiters.size > 0) this.checkWaiters();
  }

  /** Resends the oldest unacked frames of every destination now (e.g. after the transport reconnected). */
  retransmitAll(): void {
    for (const d of this.dests.values()) {
      this.retransmit(d, true);
      d.backoffRounds = 1;
    }
  }

  forget(subject: string): void {
    if (!this.dests.delete(subject)) return;
    if (this.dests.size === 0) this.disarm();
    if (this.waiters.size > 0) this.checkWaiters();
  }

  pending(subject?: string): number {
    if (subject !== undefined) {
      const d = this.dests.get(subject);
      return d === undefined ? 0 : d.nextSeq - 1 - d.acked;
    }
    let n = 0;
    for (const d of this.dests.values()) n += d.nextSeq - 1 - d.acked;
    return n;
  }

  flush(timeoutMs: number): Promise<boolean> {
    const targets = new Map<string, number>();
    for (const d of this.dests.values()) targets.set(d.subject, d.nextSeq - 1);
    if (targets.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: FlushWaiter = { targets, resolve, timer: undefined };
      waiter.timer = this.opts.timers.setTimeout(() => this.settle(waiter, false), timeoutMs, true);
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.disarm();
    for (const w of this.waiters) this.settle(w, false);
    this.dests.clear();
  }

  private create(subject: string): Destination {
    const d: Destination = {
      subject,
      nextSeq: this.seqHigh + 1,
      acked: this.seqHigh,
      frames: [],
      stamps: [],
      head: 0,
      backoffRounds: 1,
    };
    this.dests.set(subject, d);
    return d;
  }

  /**
   * Once per retransmitMs: a destination whose oldest frame is overdue gets its unacked
   * frames again (go-back-N: the receiver dropped or buffered everything after the
   * first loss, and only ever acks the prefix it has). While a destination stays silent
   * the wait doubles per retransmission (backoff) up to retransmitMaxMs; any ack resets it.
   */
  private tick(): void {
    this.timer = undefined;
    this.round += 1;
    for (const d of this.dests.values()) {
      if (this.round - (d.stamps[d.head] as number) < 1 + d.backoffRounds) continue;
      this.retransmit(d, false);
      d.backoffRounds = Math.min(d.backoffRounds * 2, this.opts.retransmitMaxRounds);
    }
    this.arm();
  }

  /**
   * Resends, from the oldest, the overdue frames (all of them when `all`) among the next
   * retransmitBatchMax: a receiver buffers only so many frames past a hole, and more
   * go out as acks come back or at the next check.
   */
  private retransmit(d: Destination, all: boolean): void {
    const end = Math.min(d.frames.length, d.head + this.opts.retransmitBatchMax);
    if (end === d.head) return;
    // The oldest frame goes out with today's `acked`: a receiver that lost our session
    // (restarted, or evicted it) learns where to resume, since older frames are gone.
    if (d.acked > 0) d.frames[d.head] = encodeFrame({ ...decodeFrame(d.frames[d.head] as Uint8Array), acked: d.acked });
    let count = 0;
    for (let i = d.head; i < end; i++) {
      if (!all && i !== d.head && this.round - (d.stamps[i] as number) < 2) continue; // sent recently: still in flight
      d.stamps[i] = this.round;
      this.publish(d.subject, d.frames[i] as Uint8Array);
      count += 1;
    }
    this.stats.retransmitted += count;
    this.opts.logger.debug({ subject: d.subject, from: d.acked + 1, count }, 'reliable: retransmitting');
  }

  private publish(subject: string, bytes: Uint8Array): void {
    try {
      this.opts.transport.publish(subject, bytes);
    } catch (error) {
      // Disconnected or closing: the frame stays unacked and goes out again later.
      this.stats.publishErrors += 1;
      this.opts.logger.debug({ subject, err: (error as Error).message }, 'reliable: publish failed; will retransmit');
    }
  }

  private checkWaiters(): void {
    for (const w of this.waiters) {
      for (const [subject, seq] of w.targets) {
        const d = this.dests.get(subject);
        if (d === undefined || d.acked >= seq) w.targets.delete(subject);
      }
      if (w.targets.size === 0) this.settle(w, true);
    }
  }

  private settle(w: FlushWaiter, done: boolean): void {
    if (!this.waiters.delete(w)) return;
    this.opts.timers.clearTimeout(w.timer);
    w.resolve(done);
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = this.opts.timers.setTimeout(() => this.tick(), this.opts.retransmitMs, false);
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.opts.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
