/**
 * The coordinator's liveness check: workers silent past the heartbeat timeout are lost,
 * clients silent past the client timeout are dropped, and both are probed when silent for a
 * little while (probes.ts), which finds one whose process is gone within seconds. One timer
 * checks them all, four times per the shorter timeout and at least every PROBE_CHECK_MS
 * while probing (a check later than a quarter of the shorter timeout still means the
 * coordinator stood still). What losing or dropping means is the coordinator's business;
 * this module only decides who.
 *
 * When a check comes late, the coordinator itself stood still (a long GC pause, a starved
 * or stopped process) and heard nobody meanwhile, through no fault of theirs: that time
 * does not count as anyone's silence. Their messages of that time are still unread when
 * the check runs (timers run before I/O when the event loop wakes), so without this one
 * pause would declare every worker lost at once.
 */
import { FloeError } from '../errors.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { WorkerRegistry } from './worker-registry.ts';
import type { Probes } from './probes.ts';

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 15_000;
export const DEFAULT_CLIENT_TIMEOUT_MS = 60_000;
/** The longest time between checks while probing. */
const PROBE_CHECK_MS = 250;

export interface LivenessOptions {
  clock: Clock;
  log: Logger;
  workers: WorkerRegistry;
  clients: ClientRegistry;
  /** 0: workers are never declared lost for silence (nor probed). */
  heartbeatTimeoutMs: number | undefined;
  /** Probes workers silent for a little while; none: no probes. */
  workerProbes?: Probes;
  /** Probes clients silent for a little while; none: no probes. */
  clientProbes?: Probes;
  /** 0: clients are never dropped for silence (nor probed). */
  clientTimeoutMs: number | undefined;
  /** Workers silent too long, with the incarnation each was registered as. */
  workersLost(lost: { workerId: string; epoch: number }[], nowMs: number): void;
  clientDropped(clientId: string, nowMs: number): void;
}

export class Liveness {
  private readonly heartbeatTimeoutMs: number;
  private readonly clientTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private checkedMs = 0;
  /** The probes in use. */
  private readonly probes: Probes[] = [];

  constructor(private readonly options: LivenessOptions) {
    this.heartbeatTimeoutMs = timeoutOption(options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS, 'heartbeatTimeoutMs');
    this.clientTimeoutMs = timeoutOption(options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS, 'clientTimeoutMs');
    // Workers' while they can be lost for silence, clients' while they can be dropped for it.
    if (options.workerProbes !== undefined && this.heartbeatTimeoutMs > 0) this.probes.push(options.workerProbes);
    if (options.clientProbes !== undefined && this.clientTimeoutMs > 0) this.probes.push(options.clientProbes);
  }

  start(): void {
    const timeouts = [this.heartbeatTimeoutMs, this.clientTimeoutMs].filter((ms) => ms > 0);
    if (timeouts.length === 0) return;
    // A check this late means the coordinator stood still (a quarter of the shorter timeout,
    // whether or not workers are probed more often than that).
    const stillMs = Math.max(10, Math.floor(Math.min(...timeouts) / 4));
    const every = this.probes.length > 0 ? Math.min(PROBE_CHECK_MS, stillMs) : stillMs;
    this.checkedMs = this.options.clock.now();
    this.timer = setInterval(() => this.check(every, stillMs), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const probes of this.probes) probes.close();
  }

  private check(everyMs: number, stillMs: number): void {
    const { workers, clients, log } = this.options;
    const nowMs = this.options.clock.now();
    const late = nowMs - this.checkedMs - everyMs;
    this.checkedMs = nowMs;
    if (late > stillMs) {
      log.warn({ stoodStillMs: Math.round(late) }, 'the coordinator stood still: that time does not count against workers and clients');
      workers.credit(late);
      clients.credit(late);
    }
    if (this.clientTimeoutMs > 0) {
      for (const clientId of clients.expired(nowMs, this.clientTimeoutMs)) {
        log.warn({ clientId, timeoutMs: this.clientTimeoutMs }, 'client silent past the client timeout: dropped, its keys released');
        this.options.clientDropped(clientId, nowMs);
      }
    }
    for (const probes of this.probes) probes.check(nowMs);
    if (this.heartbeatTimeoutMs === 0) return;
    const lost = workers.expired(nowMs, this.heartbeatTimeoutMs).map((workerId) => {
      log.warn({ workerId, timeoutMs: this.heartbeatTimeoutMs }, 'worker missed its heartbeats: lost');
      return { workerId, epoch: workers.get(workerId)?.epoch ?? 0 };
    });
    if (lost.length > 0) this.options.workersLost(lost, nowMs);
  }

  /**
   * The coordinator's connection came back: the others reconnect too, and until they have,
   * nobody listens on their subjects. Probes take nobody for gone for the timeout of each.
   */
  reconnected(): void {
    if (this.heartbeatTimeoutMs > 0) this.options.workerProbes?.quietFor(this.heartbeatTimeoutMs);
    if (this.clientTimeoutMs > 0) this.options.clientProbes?.quietFor(this.clientTimeoutMs);
  }
}

function timeoutOption(ms: number, name: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new FloeError('INVALID_OPTION', `options.${name} must be a non-negative number (got ${ms})`);
  return ms;
}
