/**
 * The clients the coordinator knows and when each was last heard from. A client
 * introduces itself (a clientBatch with `hello`, or a submission); every message after
 * that is a sign of life, and an idle client sends an empty clientBatch now and then
 * (ClientConnection.heartbeatIntervalMs). A client silent for longer than the client
 * timeout is dropped: the coordinator lets go of its keys as if it had said bye, and
 * remembers the id so that the client, if it was only stalled and comes back, is told it
 * was dropped instead of being left waiting for results that will never come. A client
 * heard from without having introduced itself is one a previous coordinator knew (this
 * one restarted): it is told the same, for the same reason.
 */
import { FloeError } from '../errors.ts';

/** Dropped ids remembered, oldest forgotten first. */
const DROPPED_MAX = 4096;

export class ClientRegistry {
  private readonly lastSeen = new Map<string, number>();
  private readonly dropped = new Set<string>();

  /**
   * A message from `id`, which introduces it or not: 'known' (noted as a sign of life),
   * 'dropped' (it was dropped and must be told so) or 'unknown' (never introduced here).
   */
  seen(id: string, nowMs: number, introduces: boolean): 'known' | 'dropped' | 'unknown' {
    if (this.dropped.has(id)) return 'dropped';
    if (!introduces && !this.lastSeen.has(id)) return 'unknown';
    this.lastSeen.set(id, nowMs);
    return 'known';
  }

  /** The client said bye. */
  remove(id: string): void {
    this.lastSeen.delete(id);
  }

  /** The client was silent too long: forgotten, and remembered as dropped. */
  drop(id: string): void {
    this.lastSeen.delete(id);
    this.dropped.add(id);
    if (this.dropped.size > DROPPED_MAX) this.dropped.delete(this.dropped.values().next().value!);
  }

  isDropped(id: string): boolean {
    return this.dropped.has(id);
  }

  get size(): number {
    return this.lastSeen.size;
  }

  /** Clients not heard from for longer than `timeoutMs`. */
  expired(nowMs: number, timeoutMs: number): string[] {
    const out: string[] = [];
    for (const [id, seenMs] of this.lastSeen) if (nowMs - seenMs > timeoutMs) out.push(id);
    return out;
  }

  /** The coordinator itself stood still for `ms` (see liveness.ts): nobody's silence counts for it. */
  credit(ms: number): void {
    for (const [id, seenMs] of this.lastSeen) this.lastSeen.set(id, seenMs + ms);
  }
}

/** The answer to a dropped client's submission. */
export function droppedError(clientId: string): FloeError {
  return new FloeError(
    'CLIENT_DROPPED',
    `the coordinator dropped client ${clientId} (it was silent for longer than the client timeout, or the coordinator restarted): its tasks and results are gone`,
  );
}
