/**
 * A faulty network for testing the reliable link: an InprocBus whose transports drop,
 * duplicate and reorder published messages by a seeded PRNG, can be partitioned, and
 * can pretend to reconnect. Plus hand-driven timers, so a whole run is a function of
 * the seed: deliveries are microtasks, time only moves when the test advances it.
 */
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import type { ReliableTimers } from '../../src/transport/reliable.ts';
import type { Headers, RequestOptions, Subscription, Transport, TransportMessage } from '../../src/transport/transport.ts';
import { mulberry32 } from './rng.ts';

/** Seeded randomness for fault schedules (see rng.ts). */
export const prng = mulberry32;

/** FLOE_SEED when set (to replay a failure), otherwise a fresh random seed. */
export function testSeed(): number {
  const env = process.env.FLOE_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

export interface LossyOptions {
  seed: number;
  /** Probability that a published message is lost. */
  dropRate?: number;
  /** Probability that a delivered message is delivered twice. */
  duplicateRate?: number;
  /** Probability that a message is held back for 1..reorderHopsMax extra microtask hops, so later ones overtake it. */
  reorderRate?: number;
  reorderHopsMax?: number;
}

export class LossyBus {
  readonly inner = new InprocBus();
  readonly counts = { published: 0, dropped: 0, duplicated: 0, reordered: 0, partitioned: 0 };
  private readonly random: () => number;
  private partitioned = false;
  private readonly reconnectListeners: (() => void)[] = [];

  constructor(private readonly options: LossyOptions) {
    this.random = prng(options.seed);
  }

  connect(): Transport {
    return new LossyTransport(this, this.inner.connect());
  }

  /** While on, every message (published, or still in flight) is lost. */
  partition(on: boolean): void {
    this.partitioned = on;
  }

  /** Runs every transport's onReconnect listeners, as after a NATS reconnect. */
  simulateReconnect(): void {
    for (const listener of [...this.reconnectListeners]) listener();
  }

  /** @internal */
  addReconnectListener(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** @internal: the faulty path every publish takes. */
  route(inner: Transport, subject: string, data: Uint8Array, headers: Headers | undefined): void {
    this.counts.published += 1;
    if (this.lost() || this.random() < (this.options.dropRate ?? 0)) {
      this.counts.dropped += 1;
      return;
    }
    const copies = this.random() < (this.options.duplicateRate ?? 0) ? 2 : 1;
    if (copies === 2) this.counts.duplicated += 1;
    for (let i = 0; i < copies; i++) {
      let hops = 0;
      if (this.random() < (this.options.reorderRate ?? 0)) {
        hops = 1 + Math.floor(this.random() * (this.options.reorderHopsMax ?? 50));
        this.counts.reordered += 1;
      }
      this.later(hops, () => {
        if (this.lost()) return; // in flight when the partition started
        inner.publish(subject, data, headers);
      });
    }
  }

  private lost(): boolean {
    if (this.partitioned) this.counts.partitioned += 1;
    return this.partitioned;
  }

  private later(hops: number, fn: () => void): void {
    if (hops === 0) fn();
    else queueMicrotask(() => this.later(hops - 1, fn));
  }
}

class LossyTransport implements Transport {
  constructor(
    private readonly bus: LossyBus,
    private readonly inner: Transport,
  ) {}

  publish(subject: string, data: Uint8Array, headers?: Headers): void {
    this.bus.route(this.inner, subject, data, headers);
  }

  /** Not lossy, as requests are not (the lossy path is for what the reliable links carry). */
  relay(subject: string, data: Uint8Array, request: TransportMessage): void {
    this.inner.relay(subject, data, request);
  }

  subscribe(subject: string, handler: (msg: TransportMessage) => void): Subscription {
    return this.inner.subscribe(subject, handler);
  }

  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<TransportMessage> {
    return this.inner.request(subject, data, options);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  onReconnect(listener: () => void): void {
    this.bus.addReconnectListener(listener);
  }
}

/** Timers that fire only when the test advances time; `active` counts the ones set. */
export class ManualTimers implements ReliableTimers {
  now = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get active(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting all deliveries run after each. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    await drain();
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= until && (due === undefined || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await drain();
    }
    this.now = until;
  }
}

/** Resolves once every queued microtask (and the ones they queue) has run. */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
