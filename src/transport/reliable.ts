/**
 * Reliable link layer over any {@link Transport}: in-order, exactly-once-per-session
 * delivery, so the coordinator, workers and clients keep a simple protocol although core
 * NATS is at-most-once (a server restart or a dropped connection loses whatever was in
 * flight, and a receiver that has not re-subscribed yet never sees it).
 *
 * Protocol (messages `Frame` and `Ack` in proto/floe.proto):
 * - Each endpoint has a random session id. Per destination subject it numbers frames
 *   consecutively and keeps each encoded frame until acknowledged. Frames carry the
 *   sender's ack subject and `acked`, everything the receiver has acknowledged so far.
 * - The receiver keeps, per listened subject and sender session, `last` (delivered up to).
 *   seq == last+1 → deliver (then whatever it had buffered after it); seq <= last →
 *   duplicate: drop, re-ack; seq > last+1 → ahead of a hole: buffer it (bounded by
 *   `reorderMax` frames per session and `reorderBytesMax` per endpoint), or drop it when
 *   full; either way ack `last`. Acks are cumulative and batched: at most one per
 *   (listened subject, sender session) per `ackDelayMs`, published to the sender's ack
 *   subject. An Ack names the destination subject, since a session numbers each
 *   destination separately.
 * - Retransmission is go-back-N on ONE timer per endpoint, counted in rounds of
 *   `retransmitMs`: when a destination's oldest unacked frame has gone a whole round
 *   without ack, its unacked frames go out again (those not sent within the last round,
 *   at most `retransmitBatchMax` from the oldest). While recovering, each ack that leaves
 *   an overdue frame oldest sends the next batch at once (ack-clocked, as TCP NewReno),
 *   so a long backlog recovers at round-trip speed, not one batch per round. A silent
 *   destination backs off (×2 per retransmission, up to `retransmitMaxMs`; any ack
 *   resets it), so a dead peer costs little until `forget()`. `transport.onReconnect`
 *   resends the oldest batch of every destination immediately.
 *
 * Choices that refine the first sketch, and why:
 * - `Frame.acked` instead of "accept the first frame of an unknown session whatever its
 *   seq". A receiver starts a new session at `last = 0` and jumps forward to any frame's
 *   `acked`, because acknowledged frames were delivered by some incarnation of it. So a
 *   new sender is delivered from its first frame even when frames arrive reordered (the
 *   sketch's rule would take frame 3 first and then drop 1 and 2 as duplicates), and a
 *   restarted receiver resumes exactly at the sender's oldest unacked frame. Retransmission
 *   re-encodes the oldest frame with the current `acked` so such a receiver can resync.
 * - Sequence numbers need not start at 1: a destination created anew starts above the
 *   highest seq this endpoint ever used, with `acked` just below. That lets a destination
 *   be deleted as soon as it is fully acked (sender state is bounded by what is unacked)
 *   and lets `forget()` drop a destination for good: a receiver that is in fact alive
 *   skips forward to the next frame instead of taking it for a duplicate.
 * - The reorder buffer (not in the sketch): under random loss, pure go-back-N delivers
 *   the run before the first hole per round and resends everything after it, round
 *   after round; with the buffer each resend fills holes. `reorderMax: 0` gives pure
 *   go-back-N.
 * - A listener that throws has still had its payload delivered (exactly once); the
 *   error is logged and counted.
 *
 * Limits and caveats:
 * - Point to point: exactly one endpoint may listen on a subject. Two listeners would
 *   both ack, and the sender would stop resending what only one of them got.
 * - A receiver forgets the least recently active sender session beyond `receiversMax`
 *   per subject; frames of that session still in flight may then be delivered twice.
 * - `unackedMax` frames per destination; `send` throws LIMIT_EXCEEDED above it, and for
 *   a frame above the transport's `maxPayloadBytes` (it could never be delivered).
 * - The sender's session changes when it restarts, so what it had not sent before is
 *   lost with the process, as the rest of its memory; receivers see the new session.
 * - Headers are not carried: frames are plain payloads.
 */
import { randomBytes } from 'node:crypto';
import { FloeError } from '../errors.ts';
import { decodeAck } from './reliable/frame-codec.ts';
import { Inbound, type ReliableHandler, type ReliableSender } from './reliable/inbound.ts';
import { resolveOptions, type ReliableOptions, type ResolvedOptions } from './reliable/options.ts';
import { Outbound } from './reliable/outbound.ts';
import { newStats, type ReliableStats } from './reliable/stats.ts';
import type { Subscription, TransportMessage } from './transport.ts';

export type { ReliableHandler, ReliableOptions, ReliableSender, ReliableStats };
export type { ReliableTimers } from './reliable/options.ts';

/** Default bound on `flush()`. */
const FLUSH_TIMEOUT_MS = 10_000;

export class ReliableEndpoint {
  /** Random per instance; receivers see a new session when this endpoint is replaced. */
  readonly session: string;
  private readonly opts: ResolvedOptions;
  private readonly counters = newStats();
  private readonly outbound: Outbound;
  private readonly inbound: Inbound;
  private readonly ackSub: Subscription;
  private closed = false;

  constructor(options: ReliableOptions) {
    this.opts = resolveOptions(options);
    const session = options.sessionId ?? randomBytes(12).toString('base64url');
    if (typeof session !== 'string' || session === '') throw new FloeError('INVALID_OPTION', 'options.sessionId must be a non-empty string');
    this.session = session;
    this.outbound = new Outbound(this.opts, session, this.counters);
    this.inbound = new Inbound(this.opts, this.counters);
    this.ackSub = this.opts.transport.subscribe(this.opts.ackSubject, (msg) => this.onAck(msg));
    // The transport has no way to remove a reconnect listener: after close() it is a no-op.
    this.opts.transport.onReconnect?.(() => {
      if (!this.closed) this.outbound.retransmitAll();
    });
  }

  /**
   * Sends `payload` to whoever listens on `subject`, reliably and in order. Returns at
   * once; the frame is kept and resent until acknowledged. Throws LIMIT_EXCEEDED when
   * `unackedMax` frames to `subject` are unacknowledged, CLIENT_CLOSED after close().
   */
  send(subject: string, payload: Uint8Array): void {
    this.checkOpen();
    this.outbound.send(subject, payload);
  }

  /**
   * Delivers the payloads sent to `subject`, in order and exactly once per sender
   * session. One listener per subject per endpoint (INVALID_ARGUMENT otherwise), and one
   * endpoint per subject across the cluster. Malformed input is logged and dropped.
   */
  listen(subject: string, handler: ReliableHandler): Subscription {
    this.checkOpen();
    return this.inbound.listen(subject, handler);
  }

  /** Drops everything unacked to `subject` (e.g. its worker was declared lost): no more retransmission. */
  forget(subject: string): void {
    this.outbound.forget(subject);
  }

  /** Unacknowledged frames to `subject`, or to all destinations. */
  pending(subject?: string): number {
    return this.outbound.pending(subject);
  }

  /**
   * Resolves `true` once everything sent so far is acknowledged (or forgotten), `false`
   * after `timeoutMs` or when the endpoint closes first. Keeps the process alive while
   * it waits, unlike the endpoint's own timers.
   */
  flush(timeoutMs = FLUSH_TIMEOUT_MS): Promise<boolean> {
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) throw new FloeError('INVALID_ARGUMENT', 'flush: timeoutMs must be an integer >= 0');
    if (this.closed) return Promise.resolve(this.outbound.pending() === 0);
    return this.outbound.flush(timeoutMs);
  }

  /** A copy of this endpoint's counters. */
  stats(): ReliableStats {
    return { ...this.counters };
  }

  /**
   * Sends the acks that are due, stops all timers, unsubscribes and drops unacked frames
   * (call `flush()` first for a graceful shutdown). Idempotent. Does not close the transport.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbound.close();
    this.outbound.close();
    this.ackSub.unsubscribe();
  }

  private onAck(msg: TransportMessage): void {
    if (this.closed) return;
    let ack;
    try {
      ack = decodeAck(msg.data);
    } catch (error) {
      this.inbound.malformed(this.opts.ackSubject, error);
      return;
    }
    this.counters.acksReceived += 1;
    this.outbound.onAck(ack);
  }

  private checkOpen(): void {
    if (this.closed) throw new FloeError('CLIENT_CLOSED', 'reliable endpoint is closed');
  }
}
