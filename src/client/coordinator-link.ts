/**
 * A client's reliable link with the coordinator (NATS alone may drop messages): its inbox
 * (key updates from the coordinator and from workers, progress, the notice that it was
 * dropped), its hello, releases and cancels, heartbeats and goodbye. Submissions go their
 * own way, as requests (submitter.ts).
 */
import { FloeError } from '../errors.ts';
import { decodeMessage, encodeMessage } from '../transport/codec.ts';
import { subjects, type WireOf } from '../transport/messages.ts';
import { ReliableEndpoint } from '../transport/reliable.ts';
import { encodeWithin } from '../transport/split.ts';
import type { Subscription, Transport } from '../transport/transport.ts';
import type { CoordinatorIncarnation } from './incarnation.ts';
import { DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS } from './heartbeat.ts';

/** The client heartbeat interval asked for, checked (connect.ts checks it before connecting). */
export function heartbeatInterval(ms: number | undefined): number {
  const every = ms ?? DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS;
  if (!Number.isFinite(every) || every < 0) {
    throw new FloeError('INVALID_OPTION', `options.heartbeatIntervalMs must be a non-negative number (got ${every})`);
  }
  return every;
}

export interface CoordinatorLinkOptions {
  transport: Transport;
  cluster: string;
  clientId: string;
  /** 0: no heartbeats. */
  heartbeatIntervalMs: number;
  /** Named in every batch once known (client/incarnation.ts). */
  incarnation: CoordinatorIncarnation;
  onUpdates(msg: WireOf<'clientUpdates'>): void;
}

export class CoordinatorLink {
  private readonly subjects: ReturnType<typeof subjects>;
  private readonly link: ReliableEndpoint;
  private readonly sub: Subscription;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private left = false;

  constructor(private readonly options: CoordinatorLinkOptions) {
    this.subjects = subjects(options.cluster);
    this.link = new ReliableEndpoint({ transport: options.transport, ackSubject: this.subjects.ack(`client.${options.clientId}`) });
    this.sub = this.link.listen(this.subjects.clientInbox(options.clientId), (data) => {
      try {
        const wire = decodeMessage(data);
        if (wire.type === 'clientUpdates') options.onUpdates(wire);
      } catch {
        // A malformed update cannot be attributed to a key; the coordinator logs its side.
      }
    });
    this.send([], [], true);
    if (options.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), options.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  /** Releases and cancels, in as many messages as the transport's payload limit needs; `hello` introduces the client. */
  send(release: string[], cancel: string[], hello = false): void {
    const batch = this.batch(release, cancel, hello, false);
    for (const piece of encodeWithin(batch, this.options.transport.maxPayloadBytes)) this.link.send(this.subjects.client, piece);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
  }

  /**
   * Says goodbye, once, and sends no more heartbeats: on close, or when this client was
   * dropped (a coordinator that restarted and took it for a new client lets go of what it
   * has of it at once, instead of after the client timeout).
   */
  leave(): void {
    if (this.left) return;
    this.left = true;
    this.stopHeartbeats();
    this.link.send(this.subjects.client, encodeMessage(this.batch([], [], false, true)));
  }

  /** Says goodbye (waiting up to a second for it to be acknowledged) and closes the link. */
  async close(): Promise<void> {
    this.leave();
    await this.link.flush(1000);
    this.sub.unsubscribe();
    this.link.close();
  }

  private batch(release: string[], cancel: string[], hello: boolean, bye: boolean): WireOf<'clientBatch'> {
    const named = this.options.incarnation.known;
    const { clientId, heartbeatIntervalMs } = this.options;
    const batch: WireOf<'clientBatch'> = { type: 'clientBatch', clientId, release, cancel, hello, bye, ...(named === undefined ? {} : { coordinatorIncarnation: named }) };
    // The hello says how often heartbeats come, for the coordinator's probes (coordinator/probes.ts).
    if (hello && heartbeatIntervalMs > 0) batch.heartbeatIntervalMs = Math.min(Math.ceil(heartbeatIntervalMs), 0xffffffff);
    return batch;
  }

  /** An empty clientBatch: a sign of life (frames still unacknowledged are resent anyway, and say as much). */
  private heartbeat(): void {
    if (this.link.pending(this.subjects.client) === 0) this.send([], []);
  }
}
