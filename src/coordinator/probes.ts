/**
 * Probes: how the coordinator learns within a second or two that a worker's process is
 * gone (killed, crashed, out of memory), instead of after the heartbeat timeout (15 s by
 * default), as Dask's scheduler learns it when its connection to the worker closes.
 *
 * A worker listens on its direct subject from before it registers until it leaves. When
 * its process dies, the kernel closes its connection and nats-server drops its
 * subscriptions at once; a request to that subject is then answered by nats-server itself
 * with its no-responders status (isNoResponders), while a worker that is only slow (a long
 * collection, a busy event loop, a slow network) still has its subscription, and a probe
 * sent to it waits, unanswered or answered late, which decides nothing.
 *
 * So a worker silent for one and a half of its heartbeat intervals is probed, and so is one
 * another party could not fetch a result from (a missing-data report: `suspect`), at once:
 * a request on
 * its direct subject, which a live worker answers at once (worker/direct.ts). If nobody
 * listens, it is probed once more after PROBE_CONFIRM_MS, which outlasts a reconnect of
 * its own (its connection dropped, say by the server as a slow consumer, and came back:
 * nats.js tries again after 250 ms, see DEFAULT_RECONNECT_TIME_WAIT_MS). Nobody there
 * twice, with no word from the worker meanwhile, and it is lost, as after the heartbeat
 * timeout. A machine that dies without closing its connections (power off, a partition)
 * keeps its subscriptions on the server until the server's own pings time out: for that,
 * the heartbeat timeout still decides.
 *
 * When the coordinator's own connection comes back (the server restarted, say), workers
 * are reconnecting too and nobody listens on their subjects until they have: for a
 * heartbeat timeout from then on, probes lose nobody (`quietFor`).
 */
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { PROBE_HEADER } from '../transport/messages.ts';
import { isNoResponders, type Transport } from '../transport/transport.ts';
import { DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS } from '../worker/heartbeat.ts';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.ts';

/** A worker silent for this many of its heartbeat intervals is probed. */
const PROBE_AFTER_HEARTBEATS = 1.5;
/** After a probe found nobody listening, the second one. */
export const PROBE_CONFIRM_MS = 500;
/** How long a probe waits for the worker's answer; unanswered, it decides nothing. */
const PROBE_TIMEOUT_MS = 2000;

export interface ProbesOptions {
  transport: Pick<Transport, 'request'>;
  clock: Clock;
  log: Logger;
  workers: WorkerRegistry;
  /** A worker's direct subject. */
  directSubject(workerId: string): string;
  /** What the heartbeat timeout's verdict does (Liveness). */
  workersLost(lost: { workerId: string; epoch: number }[], nowMs: number): void;
}

/** How long a worker may be silent before it is probed. */
export function probeAfterMs(record: Pick<WorkerRecord, 'heartbeatIntervalMs'>): number {
  const every = record.heartbeatIntervalMs > 0 ? record.heartbeatIntervalMs : DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS;
  return PROBE_AFTER_HEARTBEATS * every;
}

export class Probes {
  /** Workers being probed now (not probed again until that ends). */
  private readonly probing = new Set<string>();
  private quietUntilMs = -Infinity;
  private closed = false;

  constructor(private readonly options: ProbesOptions) {}

  /** Probes each worker silent past its probeAfterMs (Liveness calls this on each check). */
  check(nowMs: number): void {
    for (const record of this.options.workers.records()) {
      if (nowMs - record.lastSeenMs > probeAfterMs(record) && !this.probing.has(record.id)) void this.probe(record);
    }
  }

  /** Probes worker `workerId` now, silent or not: a peer could not reach it (a missing-data report). */
  suspect(workerId: string): void {
    const record = this.options.workers.get(workerId);
    if (record !== undefined && !this.probing.has(workerId)) void this.probe(record);
  }

  /** Probes lose nobody for `ms` from now (the coordinator's connection came back). */
  quietFor(ms: number): void {
    this.quietUntilMs = Math.max(this.quietUntilMs, this.options.clock.now() + ms);
  }

  close(): void {
    this.closed = true;
  }

  private async probe(record: WorkerRecord): Promise<void> {
    const { id, epoch, lastSeenMs } = record;
    this.probing.add(id);
    try {
      if (!(await this.nobodyListens(id))) return;
      await new Promise((resolve) => setTimeout(resolve, PROBE_CONFIRM_MS).unref());
      if (!this.unchanged(id, epoch, lastSeenMs) || !(await this.nobodyListens(id))) return;
      const nowMs = this.options.clock.now();
      // Checked again after the wait: the worker may have spoken, left or been lost meanwhile.
      if (this.closed || nowMs < this.quietUntilMs || !this.unchanged(id, epoch, lastSeenMs)) return;
      this.options.log.warn({ workerId: id, silentMs: Math.round(nowMs - lastSeenMs) }, 'worker gone: nobody listens on its subject any more (its connection closed): lost');
      this.options.workersLost([{ workerId: id, epoch }], nowMs);
    } finally {
      this.probing.delete(id);
    }
  }

  /** Whether incarnation `epoch` of worker `id` is still registered and has said nothing since `lastSeenMs`. */
  private unchanged(id: string, epoch: number, lastSeenMs: number): boolean {
    const record = this.options.workers.get(id);
    return record !== undefined && record.epoch === epoch && record.lastSeenMs === lastSeenMs;
  }

  /** True when the server says nobody listens on the worker's direct subject; false on an answer, a timeout or any other failure. */
  private async nobodyListens(workerId: string): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.options.transport.request(this.options.directSubject(workerId), new Uint8Array(0), {
        timeoutMs: PROBE_TIMEOUT_MS,
        headers: { [PROBE_HEADER]: '1' },
      });
      return false;
    } catch (error) {
      return isNoResponders(error);
    }
  }
}
