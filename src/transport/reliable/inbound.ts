/**
 * Receiver half of the reliable link: per listened subject, the last delivered seq of
 * each sender session and a bounded buffer of frames that overtook a missing one;
 * in-order, exactly-once delivery; acks batched (ackDelayMs after a quiet spell, then at
 * most once per ackIntervalMs while frames keep coming).
 */
import { FloeError } from '../../errors.ts';
import { decodeFrame, encodeAck } from './frame-codec.ts';
import { PROBE_HEADER } from '../messages.ts';
import type { Subscription, TransportMessage } from '../transport.ts';
import type { WireFrame } from './frames.ts';
import type { ResolvedOptions } from './options.ts';
import type { ReliableStats } from './stats.ts';

/** Who sent a delivered payload. The same object for every payload of one session. */
export interface ReliableSender {
  /** Random per sending endpoint instance: a new session means the sender restarted. */
  readonly session: string;
  /** The sender's ack subject: stable per sender if its owner derives it from a stable id. */
  readonly ackSubject: string;
}

export type ReliableHandler = (payload: Uint8Array, sender: ReliableSender) => void;

interface Stream {
  readonly subject: string;
  readonly session: string;
  sender: ReliableSender;
  /** Every seq <= last was delivered (or acknowledged to the sender by an earlier us). */
  last: number;
  /** An ack is due at the next ack flush. */
  dirty: boolean;
  /** Frames last+2 .. last+reorderMax that arrived before last+1 (created on first use). */
  ahead: Map<number, Uint8Array> | undefined;
}

interface Listener {
  readonly subject: string;
  readonly handler: ReliableHandler;
  /** Insertion order is recency: a stream moves to the end when it first gets dirty in an ack interval. */
  readonly streams: Map<string, Stream>;
  sub: Subscription | undefined;
}

/** Malformed input is logged this many times, then only counted. */
const MALFORMED_LOGS_MAX = 20;
/** The answer to a probe. */
const NOTHING = new Uint8Array(0);

export class Inbound {
  private readonly listeners = new Map<string, Listener>();
  private dirty: Stream[] = [];
  /**
   * The ack timer. Idle (none): the next frame's ack goes ackDelayMs after it. After acks
   * go out it runs for ackIntervalMs, and acks that fall due meanwhile wait for its end;
   * if none did, the endpoint is idle again.
   */
  private timer: unknown = undefined;
  /** Payload bytes held in all `ahead` buffers. */
  private aheadBytes = 0;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly stats: ReliableStats,
  ) {}

  listen(subject: string, handler: ReliableHandler): Subscription {
    if (typeof subject !== 'string' || subject === '') throw new FloeError('INVALID_ARGUMENT', 'listen: subject must be a non-empty string');
    if (this.listeners.has(subject)) throw new FloeError('INVALID_ARGUMENT', `listen: already listening on ${subject}`);
    const listener: Listener = { subject, handler, streams: new Map(), sub: undefined };
    this.listeners.set(subject, listener);
    listener.sub = this.opts.transport.subscribe(subject, (msg) => this.onMessage(listener, msg));
    return { unsubscribe: () => this.unlisten(listener) };
  }

  /** Reports input that is not ours to trust: logged (a bounded number of times) and counted. */
  malformed(subject: string, error: unknown): void {
    this.stats.malformed += 1;
    if (this.stats.malformed <= MALFORMED_LOGS_MAX) {
      this.opts.logger.warn({ subject, err: (error as Error).message, count: this.stats.malformed }, 'reliable: malformed message dropped');
    }
  }

  /** Sends due acks now and stops: used by close(). */
  close(): void {
    this.flushAcks();
    for (const l of [...this.listeners.values()]) this.unlisten(l);
  }

  private unlisten(listener: Listener): void {
    if (this.listeners.get(listener.subject) !== listener) return;
    this.listeners.delete(listener.subject);
    listener.sub?.unsubscribe();
    listener.sub = undefined;
    for (const s of listener.streams.values()) this.drop(s);
  }

  private onMessage(listener: Listener, msg: TransportMessage): void {
    if (listener.sub === undefined) return; // unsubscribed while a delivery was queued
    // The coordinator's probe (coordinator/probes.ts): that this endpoint listens says it all.
    if (msg.expectsReply && msg.headers?.[PROBE_HEADER] !== undefined) {
      msg.respond(NOTHING);
      return;
    }
    let frame: WireFrame;
    try {
      frame = decodeFrame(msg.data);
    } catch (error) {
      this.malformed(listener.subject, error);
      return;
    }
    const s = listener.streams.get(frame.session) ?? this.newStream(listener, frame);
    if (s.sender.ackSubject !== frame.ackSubject) s.sender = Object.freeze({ session: s.session, ackSubject: frame.ackSubject });
    // Frames up to `acked` were acknowledged to the sender, so delivered by an earlier
    // incarnation of this receiver (or forgotten by the sender): resume after them.
    if (frame.acked > s.last) this.skipTo(s, frame.acked);
    this.markDirty(listener, s);
    if (frame.seq <= s.last || s.ahead?.has(frame.seq) === true) {
      this.stats.duplicates += 1; // re-acked: its ack may have been lost
    } else if (frame.seq !== s.last + 1) {
      this.hold(s, frame);
    } else {
      this.deliver(listener, s, frame.payload);
    }
    // Whatever was waiting for this frame (or for a skip forward) follows, in order.
    let next: Uint8Array | undefined;
    while (s.ahead !== undefined && listener.sub !== undefined && (next = s.ahead.get(s.last + 1)) !== undefined) {
      s.ahead.delete(s.last + 1);
      this.aheadBytes -= next.byteLength;
      this.deliver(listener, s, next);
    }
  }

  private deliver(listener: Listener, s: Stream, payload: Uint8Array): void {
    s.last += 1;
    this.stats.delivered += 1;
    try {
      listener.handler(payload, s.sender);
    } catch (error) {
      // Delivered is delivered: exactly once means the handler does not get it again.
      this.stats.handlerErrors += 1;
      this.opts.logger.error({ subject: listener.subject, err: (error as Error).message }, 'reliable: listener threw');
    }
  }

  /**
   * A frame beyond a missing one: kept while within reorderMax and reorderBytesMax,
   * otherwise dropped; either way our ack of `last` tells the sender where we are, and
   * its retransmission fills the hole (go-back-N, minus what we kept).
   */
  private hold(s: Stream, frame: WireFrame): void {
    const size = frame.payload.byteLength;
    if (frame.seq - s.last > this.opts.reorderMax || this.aheadBytes + size > this.opts.reorderBytesMax) {
      this.stats.gaps += 1;
      return;
    }
    s.ahead ??= new Map();
    s.ahead.set(frame.seq, frame.payload);
    this.aheadBytes += size;
    this.stats.buffered += 1;
  }

  private skipTo(s: Stream, last: number): void {
    s.last = last;
    if (s.ahead === undefined) return;
    for (const [seq, payload] of s.ahead) {
      if (seq > last) continue;
      s.ahead.delete(seq);
      this.aheadBytes -= payload.byteLength;
    }
  }

  private drop(s: Stream): void {
    if (s.ahead === undefined) return;
    for (const payload of s.ahead.values()) this.aheadBytes -= payload.byteLength;
    s.ahead = undefined;
  }

  private newStream(listener: Listener, frame: WireFrame): Stream {
    if (listener.streams.size >= this.opts.receiversMax) {
      const oldest = listener.streams.keys().next().value;
      const evicted = oldest === undefined ? undefined : listener.streams.get(oldest);
      if (oldest !== undefined && evicted !== undefined) {
        listener.streams.delete(oldest);
        this.drop(evicted);
        this.stats.evicted += 1;
        this.opts.logger.debug({ subject: listener.subject, session: oldest }, 'reliable: receiversMax reached; forgot the least recent session');
      }
    }
    const s: Stream = {
      subject: listener.subject,
      session: frame.session,
      sender: Object.freeze({ session: frame.session, ackSubject: frame.ackSubject }),
      last: 0,
      dirty: false,
      ahead: undefined,
    };
    listener.streams.set(frame.session, s);
    return s;
  }

  private markDirty(listener: Listener, s: Stream): void {
    if (s.dirty) return;
    s.dirty = true;
    this.dirty.push(s);
    // Recency for eviction, refreshed once per ack interval rather than per frame.
    listener.streams.delete(s.session);
    listener.streams.set(s.session, s);
    if (this.timer === undefined) this.ackAfter(this.opts.ackDelayMs);
  }

  private ackAfter(ms: number): void {
    this.timer = this.opts.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.dirty.length === 0) return; // quiet for a whole interval: idle again
      this.flushAcks();
      this.ackAfter(this.opts.ackIntervalMs);
    }, ms, false);
  }

  private flushAcks(): void {
    if (this.timer !== undefined) {
      this.opts.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const due = this.dirty;
    this.dirty = [];
    for (const s of due) {
      s.dirty = false;
      try {
        this.opts.transport.publish(s.sender.ackSubject, encodeAck({ session: s.session, seq: s.last, subject: s.subject }));
        this.stats.acksSent += 1;
      } catch (error) {
        // Lost acks are recovered by the sender's retransmission, which we re-ack.
        this.stats.publishErrors += 1;
        this.opts.logger.debug({ subject: s.sender.ackSubject, err: (error as Error).message }, 'reliable: ack publish failed');
      }
    }
  }
}
