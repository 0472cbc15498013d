/**
 * The coordinator incarnation a client works with: the first one it heard from (in the
 * answer to a submission, or in key updates). A coordinator that restarted knows none of
 * the old one's clients, and each incarnation names itself in what it sends clients
 * (coordinator/client-registry.ts). The client names the one it heard from first in
 * everything it sends after that, so that a coordinator of another incarnation tells it
 * it was dropped instead of taking it for a new client.
 *
 * The client also checks what it hears: a message from another incarnation than the first
 * means the coordinator restarted, and this client's earlier work is gone. That covers the
 * race the names alone cannot: the first submission (naming none) reaches the old
 * coordinator, which answers and dies, and a later one, sent before that answer came (a
 * lone task does not wait for it: Submitter.needsNothingEarlier), also names none and
 * reaches the new coordinator, which takes the client for a new one and answers too.
 * Whichever answer comes second names another incarnation than the first.
 */
export class CoordinatorIncarnation {
  private first: string | undefined;

  /** `restarted`: called once, when another incarnation than the first is heard from. */
  constructor(private readonly restarted: () => void) {}

  /** The first incarnation heard from; undefined until then. */
  get known(): string | undefined {
    return this.first;
  }

  /** A coordinator's message named `incarnation` (undefined: none, as a worker's updates). */
  heard(incarnation: string | undefined): void {
    if (incarnation === undefined || incarnation === this.first) return;
    if (this.first === undefined) {
      this.first = incarnation;
      return;
    }
    this.restarted();
  }
}
