/**
 * What the coordinator decided during one event-loop turn, gathered per destination and
 * sent when the turn ends: one workerBatch per worker, one clientUpdates per client (with
 * the task progress it asked for), split only where the transport's payload limit needs it.
 */
import { emptyWorkerBatch, type KeyUpdate, type TaskProgress, type WireOf } from '../transport/messages.ts';
import type { ReliableEndpoint } from '../transport/reliable.ts';
import { encodeWithin } from '../transport/split.ts';
import { encodeMessage } from '../transport/codec.ts';

export interface OutboxRoutes {
  link: ReliableEndpoint;
  workerSubject(workerId: string): string;
  clientSubject(clientId: string): string;
  maxPayloadBytes(): number | undefined;
  /** The coordinator's, named in every message to a client (client-registry.ts). */
  incarnation: string;
}

export class Outbox {
  private workers = new Map<string, WireOf<'workerBatch'>>();
  /**
   * The batch asked for last, and its worker: a turn's commands come mostly in runs for
   * one worker (a report's completions, the assignments that refill it), and each asks
   * for its batch.
   */
  private lastWorkerId = '';
  private lastBatch: WireOf<'workerBatch'> | undefined;
  private clients = new Map<string, KeyUpdate[]>();
  /** Subjects of peers that left: their links are dropped once this turn's messages went out. */
  private readonly departed = new Set<string>();
  /** Clients to tell they were dropped (after their other messages of this turn). */
  private readonly dropped = new Set<string>();

  constructor(private readonly routes: OutboxRoutes) {}

  /** This turn's batch for a worker. */
  worker(workerId: string): WireOf<'workerBatch'> {
    if (workerId === this.lastWorkerId && this.lastBatch !== undefined) return this.lastBatch;
    let batch = this.workers.get(workerId);
    if (batch === undefined) {
      batch = emptyWorkerBatch();
      this.workers.set(workerId, batch);
    }
    this.lastWorkerId = workerId;
    this.lastBatch = batch;
    return batch;
  }

  /** This turn's key updates for a client. */
  client(clientId: string): KeyUpdate[] {
    let updates = this.clients.get(clientId);
    if (updates === undefined) {
      updates = [];
      this.clients.set(clientId, updates);
    }
    return updates;
  }

  /** Tells a client, after this turn's other messages to it, that it was dropped. */
  clientDropped(clientId: string): void {
    this.dropped.add(clientId);
  }

  /**
   * A worker registered as a new incarnation: a request to start over that is still
   * unsent (brought by a stale message earlier in this turn) was for an older one, and
   * its link stays, as this turn's work for the new one goes on it.
   */
  workerRegistered(workerId: string, subject: string): void {
    const batch = this.workers.get(workerId);
    if (batch !== undefined) {
      batch.reregister = false;
      batch.epoch = 0;
    }
    this.departed.delete(subject);
  }

  /** Drops a departed peer's link after this turn's messages (see send). */
  forget(subject: string): void {
    this.departed.add(subject);
  }

  /** Sends everything gathered, with `progress` (per client) in the clients' messages. */
  send(progress: Map<string, TaskProgress[]>): void {
    const { workers, clients } = this;
    this.workers = new Map();
    this.lastBatch = undefined;
    this.clients = new Map();
    const { link, incarnation } = this.routes;
    const max = this.routes.maxPayloadBytes();
    for (const [workerId, batch] of workers) {
      const subject = this.routes.workerSubject(workerId);
      for (const piece of encodeWithin(batch, max)) link.send(subject, piece);
    }
    for (const [clientId, updates] of clients) {
      const tasks = progress.get(clientId);
      progress.delete(clientId);
      const msg: WireOf<'clientUpdates'> = { type: 'clientUpdates', updates, ...(tasks === undefined ? {} : { progress: tasks }), incarnation };
      for (const piece of encodeWithin(msg, max)) link.send(this.routes.clientSubject(clientId), piece);
    }
    for (const [clientId, tasks] of progress) {
      const msg: WireOf<'clientUpdates'> = { type: 'clientUpdates', updates: [], progress: tasks, incarnation };
      for (const piece of encodeWithin(msg, max)) link.send(this.routes.clientSubject(clientId), piece);
    }
    for (const clientId of this.dropped) {
      link.send(this.routes.clientSubject(clientId), encodeMessage({ type: 'clientUpdates', updates: [], dropped: true, incarnation }));
    }
    this.dropped.clear();
    for (const subject of this.departed) link.forget(subject);
    this.departed.clear();
  }
}
