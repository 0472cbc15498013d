/**
 * What the coordinator process knows about workers beyond the scheduler's view:
 * data-plane addresses, names, last heartbeat and the metrics they report. Liveness
 * is judged here (a worker silent for longer than the heartbeat timeout is lost); the
 * scheduler only hears the verdict as a `workerLost` event.
 */
import type { WireMetrics } from '../transport/messages.ts';

export interface WorkerRecord {
  id: string;
  name: string;
  address: string;
  /** The registered incarnation (WorkerEvents.epoch). */
  epoch: number;
  lastSeenMs: number;
  /** How often it sends a heartbeat when otherwise silent (WorkerRegister; 0: never, or not said). */
  heartbeatIntervalMs: number;
  metrics: WireMetrics | undefined;
  /** When `metrics` came (the coordinator's clock). */
  metricsAtMs: number;
}

export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerRecord>();

  join(id: string, epoch: number, register: Pick<WorkerRecord, 'name' | 'address' | 'heartbeatIntervalMs'>, nowMs: number): void {
    const { name, address, heartbeatIntervalMs } = register;
    this.workers.set(id, { id, name, address, epoch, lastSeenMs: nowMs, heartbeatIntervalMs, metrics: undefined, metricsAtMs: nowMs });
  }

  /**
   * A message from incarnation `epoch` of worker `id`: 'current' (a sign of life, noted),
   * 'stale' (from an incarnation that has since started over: to be dropped) or 'unknown'
   * (not registered, e.g. declared lost or a new coordinator: it must register again).
   */
  seen(id: string, epoch: number, nowMs: number, metrics?: WireMetrics): 'current' | 'stale' | 'unknown' {
    const record = this.workers.get(id);
    if (record === undefined || epoch > record.epoch) return 'unknown';
    if (epoch < record.epoch) return 'stale';
    record.lastSeenMs = nowMs;
    if (metrics !== undefined) {
      record.metrics = metrics;
      record.metricsAtMs = nowMs;
    }
    return 'current';
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  address(id: string): string {
    return this.workers.get(id)?.address ?? '';
  }

  remove(id: string): boolean {
    return this.workers.delete(id);
  }

  /** Ids of the registered workers. */
  ids(): IterableIterator<string> {
    return this.workers.keys();
  }

  records(): IterableIterator<WorkerRecord> {
    return this.workers.values();
  }

  /** The coordinator itself stood still for `ms` (see liveness.ts): nobody's silence counts for it. */
  credit(ms: number): void {
    for (const record of this.workers.values()) record.lastSeenMs += ms;
  }

  /** Workers not heard from for longer than `timeoutMs`. */
  expired(nowMs: number, timeoutMs: number): string[] {
    const out: string[] = [];
    for (const record of this.workers.values()) if (nowMs - record.lastSeenMs > timeoutMs) out.push(record.id);
    return out;
  }
}
