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
  lastSeenMs: number;
  metrics: WireMetrics | undefined;
}

export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerRecord>();

  join(id: string, name: string, address: string, nowMs: number): void {
    this.workers.set(id, { id, name, address, lastSeenMs: nowMs, metrics: undefined });
  }

  /** Notes a sign of life; false when the worker is not registered. */
  seen(id: string, nowMs: number, metrics?: WireMetrics): boolean {
    const record = this.workers.get(id);
    if (record === undefined) return false;
    record.lastSeenMs = nowMs;
    if (metrics !== undefined) record.metrics = metrics;
    return true;
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

  /** Workers not heard from for longer than `timeoutMs`. */
  expired(nowMs: number, timeoutMs: number): string[] {
    const out: string[] = [];
    for (const record of this.workers.values()) if (nowMs - record.lastSeenMs > timeoutMs) out.push(record.id);
    return out;
  }
}
