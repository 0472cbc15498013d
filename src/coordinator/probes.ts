/**
 * Probes: how the coordinator learns within seconds that a worker's or a client's process
 * is gone (killed, crashed, out of memory), instead of after the heartbeat timeout (15 s by
 * default) or the client timeout (60 s), as Dask's scheduler learns it when its connection
 * to the worker or client closes.
 *
 * A worker listens on its subject (where the coordinator's messages come, on a reliable
 * link) from before it registers until it leaves, a client on its inbox. When a process
 * dies, the kernel closes its connection and nats-server drops its subscriptions at once;
 * a request to such a subject is then answered by nats-server itself with its
 * no-responders status (isNoResponders), while a party that is only slow (a long
 * collection, a stopped process, a busy event loop, a slow network) still has its
 * subscription, and a probe sent to it waits, unanswered or answered late, which decides
 * nothing.
 *
 * So a party silent for a little while (one and a half of its heartbeat intervals) is
 * probed, and so, at once, is a worker another party could not fetch a result from (a
 * missing-data report: `suspect`). A probe is a request with the PROBE_HEADER, which the
 * live party's end of the link answers at once with nothing (transport/reliable/inbound.ts).
 * If nobody listens, it is probed once more after a confirmation delay that outlasts a
 * reconnect of its own (its connection dropped, say by the server as a slow consumer, and
 * came back: nats.js tries again after 250 ms, see DEFAULT_RECONNECT_TIME_WAIT_MS): half a
 * second for a worker, whose loss costs recomputation; two seconds for a client, whose
 * futures fail if it was dropped and comes back; five seconds for either when the
 * coordinator's server is in a cluster of servers (CLUSTERED_CONFIRM_MS). Nobody there twice, with no word from it
 * meanwhile, and it is gone: a worker is lost, a client dropped, as after their timeouts.
 * A machine that dies without closing its connections (power off, a partition) keeps its
 * subscriptions on the server until the server's own pings time out: for that, the
 * timeouts still decide.
 *
 * When the coordinator's own connection comes back (the server restarted, say), the others
 * are reconnecting too and nobody listens on their subjects until they have: for the
 * timeout of each from then on, probes take nobody for gone (`quietFor`).
 */
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { PROBE_HEADER } from '../transport/messages.ts';
import { isNoResponders, type Transport } from '../transport/transport.ts';
import { DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS } from '../worker/heartbeat.ts';
import { DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS } from '../client/heartbeat.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { WorkerRegistry } from './worker-registry.ts';

/** A party silent for this many of its heartbeat intervals is probed. */
const PROBE_AFTER_HEARTBEATS = 1.5;
/** How long a probe waits for an answer; unanswered, it decides nothing. */
const PROBE_TIMEOUT_MS = 2000;
const WORKER_CONFIRM_MS = 500;
const CLIENT_CONFIRM_MS = 2000;
/**
 * The least confirmation delay when the coordinator's server is in a cluster of servers: a
 * route between two servers that breaks hides the subscriptions on the other side until it
 * is back (the heartbeats stop too, and the heartbeat timeout, 15 s by default, still
 * decides on a longer break).
 */
export const CLUSTERED_CONFIRM_MS = 5000;

/** One kind of party the coordinator probes. */
export interface Probed {
  /** 'worker' or 'client', for the log. */
  readonly kind: string;
  /** After a probe met nobody, when the second one goes. */
  readonly confirmMs: number;
  /** Those silent past the time they are probed after, by id. */
  silent(nowMs: number): Iterable<string>;
  /** The subject it listens on, where its probes go. */
  subject(id: string): string;
  /** Its incarnation and its last word, as one value; undefined once it has gone. Its verdict needs this unchanged since the first probe. */
  state(id: string): string | undefined;
  /** Nobody listened twice: a worker is lost, a client dropped. */
  gone(id: string, nowMs: number): void;
}

export interface ProbesOptions {
  transport: Pick<Transport, 'request' | 'clustered'>;
  clock: Clock;
  log: Logger;
}

export class Probes {
  /** Those being probed now (not probed again until that ends). */
  private readonly probing = new Set<string>();
  private quietUntilMs = -Infinity;
  private closed = false;

  constructor(
    private readonly options: ProbesOptions,
    private readonly probed: Probed,
  ) {}

  /** Probes each one silent past its time (Liveness calls this on each check). */
  check(nowMs: number): void {
    for (const id of this.probed.silent(nowMs)) if (!this.probing.has(id)) void this.probe(id);
  }

  /** Probes `id` now, silent or not: a peer could not reach it (a missing-data report). */
  suspect(id: string): void {
    if (!this.probing.has(id) && this.probed.state(id) !== undefined) void this.probe(id);
  }

  /** Probes take nobody for gone for `ms` from now (the coordinator's connection came back). */
  quietFor(ms: number): void {
    this.quietUntilMs = Math.max(this.quietUntilMs, this.options.clock.now() + ms);
  }

  close(): void {
    this.closed = true;
  }

  private async probe(id: string): Promise<void> {
    const { probed } = this;
    const state = probed.state(id);
    if (state === undefined) return;
    const startMs = this.options.clock.now();
    this.probing.add(id);
    try {
      if (!(await this.nobodyListens(id))) return;
      const confirmMs = this.options.transport.clustered?.() === true ? Math.max(probed.confirmMs, CLUSTERED_CONFIRM_MS) : probed.confirmMs;
      await new Promise((resolve) => setTimeout(resolve, confirmMs).unref());
      if (probed.state(id) !== state || !(await this.nobodyListens(id))) return;
      const nowMs = this.options.clock.now();
      // Checked again after the wait: it may have spoken, left or been lost meanwhile.
      if (this.closed || nowMs < this.quietUntilMs || probed.state(id) !== state) return;
      this.options.log.warn({ [`${probed.kind}Id`]: id, probedForMs: Math.round(nowMs - startMs) }, `${probed.kind} gone: nobody listens on its subject any more (its connection closed)`);
      probed.gone(id, nowMs);
    } finally {
      this.probing.delete(id);
    }
  }

  /** True when the server says nobody listens on the subject; false on an answer, a timeout or any other failure. */
  private async nobodyListens(id: string): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.options.transport.request(this.probed.subject(id), new Uint8Array(0), { timeoutMs: PROBE_TIMEOUT_MS, headers: { [PROBE_HEADER]: '1' } });
      return false;
    } catch (error) {
      return isNoResponders(error);
    }
  }
}

/** Whether a party last heard from at `lastSeenMs` is due a probe: silent past 1.5 of its heartbeat interval (`defaultMs` when it said none). */
function probeDue(nowMs: number, lastSeenMs: number, intervalMs: number | undefined, defaultMs: number): boolean {
  const every = intervalMs !== undefined && intervalMs > 0 ? intervalMs : defaultMs;
  return nowMs - lastSeenMs > PROBE_AFTER_HEARTBEATS * every;
}

/** Workers, probed on their subjects after one and a half of the heartbeat intervals they registered with. */
export function probedWorkers(workers: WorkerRegistry, subject: (workerId: string) => string, lost: (workerId: string, epoch: number, nowMs: number) => void): Probed {
  return {
    kind: 'worker',
    confirmMs: WORKER_CONFIRM_MS,
    *silent(nowMs) {
      for (const w of workers.records()) if (probeDue(nowMs, w.lastSeenMs, w.heartbeatIntervalMs, DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS)) yield w.id;
    },
    subject,
    state(id) {
      const w = workers.get(id);
      return w === undefined ? undefined : `${w.epoch}@${w.lastSeenMs}`;
    },
    gone: (id, nowMs) => lost(id, workers.get(id)!.epoch, nowMs),
  };
}

/** Clients, probed on their inboxes after one and a half of the heartbeat intervals they said in their hellos (or of the default). */
export function probedClients(clients: ClientRegistry, inbox: (clientId: string) => string, drop: (clientId: string, nowMs: number) => void): Probed {
  return {
    kind: 'client',
    confirmMs: CLIENT_CONFIRM_MS,
    *silent(nowMs) {
      for (const [id, seenMs] of clients.lastSeenTimes()) if (probeDue(nowMs, seenMs, clients.heartbeatIntervalMs(id), DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS)) yield id;
    },
    subject: inbox,
    state: (id) => clients.lastSeenMs(id)?.toString(),
    gone: drop,
  };
}
