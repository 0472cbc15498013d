/**
 * What a worker tells the coordinator about its runs (finished, failed, stolen, slots
 * given back and taken again...), gathered into one WorkerEvents message per turn.
 *
 * Completions go out at once when nothing else is executing here, so a lone task's round
 * trip stays short. While other runs are executing they are held for up to
 * REPORT_DELAY_MS, so that many go out in one message: with tasks of a few microseconds,
 * one message (and one wake-up of the coordinator) per completion is what bounds
 * throughput. The delay never holds a report behind a long task: the next completion or
 * the timer, whichever comes first, sends it.
 *
 * Clients are told of results they want in the same batch, just before it (`tell`): the
 * key update goes from here to the client, one hop less than through the coordinator.
 */
import type { KeyUpdate, WireFailed, WireFinished, WireRunRef } from '../transport/messages.ts';
import { TurnBatcher } from '../util/turn-batcher.ts';

/** Longest a completion is held back to share a message with others. */
const REPORT_DELAY_MS = 2;
/** Completions that go out together at most. */
const REPORT_BATCH_MAX = 256;

export interface Outgoing {
  finished: WireFinished[];
  failed: WireFailed[];
  stolen: WireRunRef[];
  stealRefused: WireRunRef[];
  replicated: string[];
  replicateFailed: string[];
  missing: { id: string; runId: number; depId: string }[];
  seceded: WireRunRef[];
  rejoined: WireRunRef[];
  straggling: WireRunRef[];
}

function emptyOutgoing(): Outgoing {
  return { finished: [], failed: [], stolen: [], stealRefused: [], replicated: [], replicateFailed: [], missing: [], seceded: [], rejoined: [], straggling: [] };
}

export interface ReportsOptions {
  /** Sends one batch (the worker wraps it in a WorkerEvents message). */
  send(out: Outgoing): void;
  /** Sends clients their key updates (per client id), just before the batch that reports those runs. */
  tell(updates: Map<string, KeyUpdate[]>): void;
  /** Whether other runs are executing here (completions may then wait a little). */
  busy(): boolean;
}

export class Reports {
  private out = emptyOutgoing();
  /** Key updates for clients, per client id. */
  private told = new Map<string, KeyUpdate[]>();
  /** Latest slot change per run: a run that seceded and rejoined within a turn sends one. */
  private readonly slotChanges = new Map<string, { id: string; runId: number; seceded: boolean }>();
  private readonly batcher = new TurnBatcher(() => this.flush());
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReportsOptions) {}

  /**
   * `afterWrites`: the run's client was just told on a direct stream. Its report then goes
   * after the stream's write, which Node's HTTP/2 makes at the end of the event loop's turn
   * (an immediate): sent first, the report (and the submission passed on with it) woke
   * nats-server and the coordinator while the client's update still waited.
   */
  finished(report: WireFinished, afterWrites = false): void {
    this.out.finished.push(report);
    if (!this.options.busy() || this.out.finished.length >= REPORT_BATCH_MAX) {
      if (afterWrites) setImmediate(() => this.batcher.request());
      else this.batcher.request();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.batcher.request();
    }, REPORT_DELAY_MS);
  }

  /** A key update for a client, sent with the next batch (call after `finished` of its run). */
  tell(clientId: string, update: KeyUpdate): void {
    const updates = this.told.get(clientId);
    if (updates === undefined) this.told.set(clientId, [update]);
    else updates.push(update);
  }

  /** Drops the key updates not sent yet to a client that left. */
  dropClient(clientId: string): void {
    this.told.delete(clientId);
  }

  /** Any other report: sent at the end of this turn. */
  add<K extends Exclude<keyof Outgoing, 'finished' | 'seceded' | 'rejoined'>>(kind: K, report: Outgoing[K][number]): void {
    (this.out[kind] as Outgoing[K][number][]).push(report);
    this.batcher.request();
  }

  slot(id: string, runId: number, seceded: boolean): void {
    this.slotChanges.set(`${id}#${runId}`, { id, runId, seceded });
    this.batcher.request();
  }

  /** Sends what is gathered now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const out = this.out;
    for (const change of this.slotChanges.values()) {
      (change.seceded ? out.seceded : out.rejoined).push({ id: change.id, runId: change.runId });
    }
    this.slotChanges.clear();
    if (this.told.size > 0) {
      const told = this.told;
      this.told = new Map();
      this.options.tell(told);
    }
    if (Object.values(out).every((list: unknown[]) => list.length === 0)) return;
    this.out = emptyOutgoing();
    this.options.send(out);
  }

  /** Drops everything not sent yet (the worker starts over). */
  clear(): void {
    this.out = emptyOutgoing();
    this.told = new Map();
    this.slotChanges.clear();
  }
}
