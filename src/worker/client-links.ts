/**
 * Key updates a worker sends clients itself (WireAssign.tellClient): over the worker's
 * reliable link, to the client's inbox, where the coordinator's updates go too (the
 * client's endpoint takes frames from any number of senders). A client that left (the
 * coordinator says so in WorkerBatch.clientsGone) is forgotten: its link is dropped with
 * whatever it had not acknowledged, and later updates for it are not sent, so a
 * long-lived worker keeps no link per departed client.
 */
import type { KeyUpdate } from '../transport/messages.ts';
import type { ReliableEndpoint } from '../transport/reliable.ts';
import { encodeWithin } from '../transport/split.ts';
import type { Logger } from '../util/logger.ts';

/** Departed clients remembered (oldest forgotten first); only stragglers need the memory. */
const GONE_MAX = 4096;

export interface ClientLinksOptions {
  link: ReliableEndpoint;
  inbox(clientId: string): string;
  maxPayloadBytes(): number | undefined;
  log: Logger;
}

export class ClientLinks {
  private readonly gone = new Set<string>();

  constructor(private readonly options: ClientLinksOptions) {}

  /** Sends each client its updates (one clientUpdates message, split only past the payload limit). */
  send(updates: Map<string, KeyUpdate[]>): void {
    const { link, log } = this.options;
    const max = this.options.maxPayloadBytes();
    for (const [clientId, list] of updates) {
      if (this.gone.has(clientId)) continue;
      try {
        for (const piece of encodeWithin({ type: 'clientUpdates', updates: list }, max)) link.send(this.options.inbox(clientId), piece);
      } catch (err) {
        // The link refuses more (a client silent for very long: gone without saying so).
        // The client still learns where its results are from the coordinator when it asks.
        log.warn({ clientId, err }, 'could not send key updates to a client');
      }
    }
  }

  /** A client left: drop its link and never send it anything again. */
  left(clientId: string): void {
    if (this.gone.has(clientId)) return;
    if (this.gone.size >= GONE_MAX) this.gone.delete(this.gone.values().next().value!);
    this.gone.add(clientId);
    this.options.link.forget(this.options.inbox(clientId));
  }

  /** Whether updates for this client are dropped (it left). */
  isGone(clientId: string): boolean {
    return this.gone.has(clientId);
  }
}
