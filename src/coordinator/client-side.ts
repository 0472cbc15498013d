/**
 * The coordinator's dealings with clients as such (their tasks are the scheduler's): who
 * is known (client-registry.ts), what a clientBatch asks (releases, cancels, goodbye), and
 * dropping a client, for its silence or because its work was with a coordinator before
 * this one, and telling it so.
 */
import { toErrorInfo } from '../errors.ts';
import type { SchedulerEvent } from '../scheduler/types.ts';
import { encodeMessage } from '../transport/codec.ts';
import type { WireOf } from '../transport/messages.ts';
import type { TransportMessage } from '../transport/transport.ts';
import type { Logger } from '../util/logger.ts';
import { ClientRegistry, droppedError, type ClientSeen } from './client-registry.ts';
import type { Outbox } from './outbox.ts';
import type { ProgressReporter } from './progress.ts';
import type { CoordinatorTracing } from './tracing.ts';

/** What of the coordinator the client side uses. */
export interface ClientSideHost {
  /** The coordinator's incarnation. */
  incarnation: string;
  outbox: Outbox;
  progress: ProgressReporter;
  tracing: CoordinatorTracing;
  log: Logger;
  workerIds(): Iterable<string>;
  inbox(clientId: string): string;
  /** Drops a link once this turn's messages went out. */
  forgetLater(subject: string): void;
  handle(...events: SchedulerEvent[]): void;
  nextStimulus(kind: string): string;
}

export class ClientSide {
  readonly registry: ClientRegistry;

  constructor(private readonly host: ClientSideHost) {
    this.registry = new ClientRegistry(host.incarnation);
  }

  /**
   * Whether a submission's client may submit here. A submission introduces its client (it
   * may overtake the client's hello), unless it names the incarnation the client heard
   * from first (client-registry.ts). One refused is answered with CLIENT_DROPPED, and its
   * client told it was dropped.
   */
  admits(wire: WireOf<'submit'>, msg: TransportMessage, nowMs: number): boolean {
    const seen = this.registry.seen(wire.clientId, nowMs, true, wire.coordinatorIncarnation);
    if (seen === 'known') return true;
    const error = toErrorInfo(droppedError(wire.clientId));
    msg.respond(encodeMessage({ type: 'submitReply', requestId: wire.requestId, error, incarnation: this.host.incarnation }));
    this.refuse(wire.clientId, seen, nowMs);
    return false;
  }

  onBatch(wire: WireOf<'clientBatch'>, nowMs: number): void {
    const { clientId } = wire;
    const { host } = this;
    const seen = this.registry.seen(clientId, nowMs, wire.hello, wire.coordinatorIncarnation);
    if (seen !== 'known') {
      // What it asks is about keys already released, or never known here.
      if (!wire.bye) this.refuse(clientId, seen, nowMs);
      else if (seen === 'stale') {
        // Leaving: what it has here goes, with nobody to tell.
        this.registry.remove(clientId);
        host.handle(this.left(clientId, host.nextStimulus('client'), nowMs));
      }
      return;
    }
    if (wire.hello && wire.heartbeatIntervalMs !== undefined) this.registry.heartbeats(clientId, wire.heartbeatIntervalMs);
    const stimulusId = host.nextStimulus('client');
    const events: SchedulerEvent[] = [];
    if (wire.cancel.length > 0) events.push({ type: 'keysCancelled', stimulusId, nowMs, clientId, keys: wire.cancel });
    for (const key of wire.cancel) host.tracing.forget(`${clientId}/${key}`);
    if (wire.release.length > 0) events.push({ type: 'keysReleased', stimulusId, nowMs, clientId, keys: wire.release });
    if (wire.bye) {
      this.registry.remove(clientId);
      events.push(this.left(clientId, stimulusId, nowMs));
    }
    if (events.length > 0) host.handle(...events);
  }

  /** A client silent past the client timeout (or 'stale'): released like one that left, and told so should it be alive. */
  drop(clientId: string, nowMs: number, why = 'client-timeout'): void {
    this.registry.drop(clientId);
    const left = this.left(clientId, this.host.nextStimulus(why), nowMs);
    this.tellDropped(clientId);
    this.host.handle(left);
  }

  /** What a client's leaving (bye, or dropped) takes: the scheduler's event, its links. */
  private left(clientId: string, stimulusId: string, nowMs: number): SchedulerEvent {
    const { host } = this;
    host.progress.forget(clientId);
    host.forgetLater(host.inbox(clientId));
    // Workers may have links to it too (results they told it: WireAssign.tellClient).
    for (const workerId of host.workerIds()) host.outbox.worker(workerId).clientsGone.push(clientId);
    return { type: 'clientDisconnected', stimulusId, nowMs, clientId };
  }

  /** A message from a client that is not (or no longer) known here: it is told it was dropped. */
  private refuse(clientId: string, seen: Exclude<ClientSeen, 'known'>, nowMs: number): void {
    if (seen === 'stale') {
      this.host.log.warn({ clientId }, 'a client whose work was with an earlier coordinator (this one restarted): telling it its work is gone');
      this.drop(clientId, nowMs, 'client-stale');
      return;
    }
    if (seen === 'unknown') {
      this.host.log.warn({ clientId }, 'message from a client this coordinator never met (it restarted?): telling the client its work is gone');
      this.registry.drop(clientId);
    }
    this.tellDropped(clientId);
  }

  /** Tells a dropped client so (its link is dropped again once that is sent). */
  private tellDropped(clientId: string): void {
    this.host.outbox.clientDropped(clientId);
    this.host.forgetLater(this.host.inbox(clientId));
  }
}
