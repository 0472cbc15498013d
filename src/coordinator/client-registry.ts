/**
 * The clients the coordinator knows and when each was last heard from. A client
 * introduces itself (a clientBatch with `hello`, or a submission); every message after
 * that is a sign of life, and an idle client sends an empty clientBatch now and then
 * (ClientConnection.heartbeatIntervalMs). A client silent for longer than the client
 * timeout is dropped: the coordinator lets go of its keys as if it had said bye, and
 * remembers the id so that the client, if it was only stalled and comes back, is told it
 * was dropped instead of being left waiting for results that will never come.
 *
 * A coordinator that restarted knows none of the old one's clients, and must not take one
 * of them for a new client: its earlier keys would be gone without a word. So each
 * coordinator has an incarnation (random, made at its start), which it names in what it
 * sends clients, and a client names the first incarnation it heard from in every message
 * after that. A message naming another incarnation comes from a client whose work was
 * with a coordinator before this one; a message naming none introduces its client only if
 * it is a submission or a hello (a submission may overtake the hello), and otherwise also
 * comes from a client a previous coordinator knew (one that had not heard from it yet when
 * it sent its hello). Such clients are told they were dropped, for the same reason.
 */
import { FloeError } from '../errors.ts';

/** Dropped ids remembered, oldest forgotten first. */
const DROPPED_MAX = 4096;

/**
 * What a message says of its client: 'known' (noted as a sign of life), 'dropped' (it was
 * dropped here and must be told so), 'unknown' (not introduced here, or its work was with
 * another incarnation: it must be dropped and told so), 'stale' (known here, introduced by
 * a message that named no incarnation, but it names another one now: its earlier work was
 * with a coordinator before this one; what it has here must be let go, and it told so).
 */
export type ClientSeen = 'known' | 'dropped' | 'unknown' | 'stale';

export class ClientRegistry {
  private readonly lastSeen = new Map<string, number>();
  /** The heartbeat interval each client said in its hello, when it said one. */
  private readonly intervals = new Map<string, number>();
  private readonly dropped = new Set<string>();

  /** `incarnation`: this coordinator's. */
  constructor(readonly incarnation: string) {}

  /**
   * A message from `id`, which would introduce it or not (a submission or a hello), naming
   * the coordinator incarnation its client heard from first ('' or undefined: none yet).
   */
  seen(id: string, nowMs: number, introduces: boolean, named = ''): ClientSeen {
    if (this.dropped.has(id)) return 'dropped';
    const known = this.lastSeen.has(id);
    if (named !== '' && named !== this.incarnation) return known ? 'stale' : 'unknown';
    // One that names this incarnation was introduced here: unknown now, it left or was dropped (and forgotten).
    if (!known && (named !== '' || !introduces)) return 'unknown';
    this.lastSeen.set(id, nowMs);
    return 'known';
  }

  /** A known client said how often it heartbeats when idle. */
  heartbeats(id: string, intervalMs: number): void {
    if (this.lastSeen.has(id)) this.intervals.set(id, intervalMs);
  }

  /** The client said bye. */
  remove(id: string): void {
    this.lastSeen.delete(id);
    this.intervals.delete(id);
  }

  /** The client was silent too long: forgotten, and remembered as dropped. */
  drop(id: string): void {
    this.lastSeen.delete(id);
    this.intervals.delete(id);
    this.dropped.add(id);
    if (this.dropped.size > DROPPED_MAX) this.dropped.delete(this.dropped.values().next().value!);
  }

  isDropped(id: string): boolean {
    return this.dropped.has(id);
  }

  get size(): number {
    return this.lastSeen.size;
  }

  /** When the client was last heard from; undefined when it is not known (or gone). */
  lastSeenMs(id: string): number | undefined {
    return this.lastSeen.get(id);
  }

  /** Clients not heard from for longer than `timeoutMs`. */
  expired(nowMs: number, timeoutMs: number): string[] {
    const out: string[] = [];
    for (const [id, seenMs] of this.lastSeen) if (nowMs - seenMs > timeoutMs) out.push(id);
    return out;
  }

  /** Each known client with when it was last heard from. */
  lastSeenTimes(): IterableIterator<[string, number]> {
    return this.lastSeen.entries();
  }

  /** The heartbeat interval the client said in its hello; undefined when it said none (or its hello has not come). */
  heartbeatIntervalMs(id: string): number | undefined {
    return this.intervals.get(id);
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
