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

const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;

/** The client heartbeat interval asked for, checked (connect.ts checks it before connecting). */
export function heartbeatInterval(ms: number | undefined): number {
  const every = ms ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
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
  onUpdates(msg: WireOf<'clientUpdates'>): void;
}

export class CoordinatorLink {
  private readonly subjects: ReturnType<typeof subjects>;
  private readonly link: ReliableEndpoint;
  private readonly sub: Subscription;
  private heartbeatTimer: NodeJS.Timeout | undefined;

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
    const batch: WireOf<'clientBatch'> = { type: 'clientBatch', clientId: this.options.clientId, release, cancel, hello, bye: false };
    for (const piece of encodeWithin(batch, this.options.transport.maxPayloadBytes)) this.link.send(this.subjects.client, piece);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
  }

  /** Says goodbye (waiting up to a second for it to be acknowledged) and closes the link. */
  async close(): Promise<void> {
    this.stopHeartbeats();
    const bye: WireOf<'clientBatch'> = { type: 'clientBatch', clientId: this.options.clientId, release: [], cancel: [], hello: false, bye: true };
    this.link.send(this.subjects.client, encodeMessage(bye));
    await this.link.flush(1000);
    this.sub.unsubscribe();
    this.link.close();
  }

  /** An empty clientBatch: a sign of life (frames still unacknowledged are resent anyway, and say as much). */
  private heartbeat(): void {
    if (this.link.pending(this.subjects.client) === 0) this.send([], []);
  }
}
