/**
 * The coordinator's dealings with workers as such (their tasks are the scheduler's): who is
 * registered and in which incarnation (worker-registry.ts), what a worker's report says
 * (WorkerEvents: registration, completions, steals, slots, retiring, goodbye, and the
 * clients' submissions it passes on), workers lost to silence, and retiring.
 */
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { SchedulerEvent } from '../scheduler/types.ts';
import type { WireOf } from '../transport/messages.ts';
import type { CoordinatorMetrics } from '../telemetry/metrics.ts';
import type { Logger } from '../util/logger.ts';
import type { Outbox } from './outbox.ts';
import type { ProgressReporter } from './progress.ts';
import { reportEvents } from './translate.ts';
import type { WorkerRegistry } from './worker-registry.ts';

/** What of the coordinator the worker side uses. */
export interface WorkerSideHost {
  scheduler: Scheduler;
  workers: WorkerRegistry;
  outbox: Outbox;
  progress: ProgressReporter;
  metrics: CoordinatorMetrics;
  log: Logger;
  /** A worker's control subject. */
  workerSubject(workerId: string): string;
  /** A client's submission a worker passed on, to be handled as one sent to the coordinator. */
  relayed(replyTo: string, submit: Uint8Array): void;
  /** Drops a link once this turn's messages went out. */
  forgetLater(subject: string): void;
  /** A worker could not fetch a result from this one, which may be gone (probes.ts). */
  suspect(workerId: string): void;
  handle(...events: SchedulerEvent[]): void;
  nextStimulus(kind: string): string;
}

export class WorkerSide {
  constructor(private readonly host: WorkerSideHost) {}

  onEvents(wire: WireOf<'workerEvents'>, nowMs: number): void {
    const { host } = this;
    // Clients' submissions the worker passed on come first, whatever its incarnation: they
    // are the clients', and the scheduler must know a task before it hears of its run.
    for (const { replyTo, submit } of wire.relayed) host.relayed(replyTo, submit);
    const stimulusId = host.nextStimulus('worker');
    const { workerId, epoch } = wire;
    const events: SchedulerEvent[] = [];
    if (wire.register !== undefined) {
      const { threads, resources, address } = wire.register;
      if (host.workers.get(workerId) !== undefined) {
        // A worker registers only with a clean slate (start, or a reset after a
        // reregister), once per incarnation: whatever the scheduler thought it ran or held
        // is gone. Its epoch may be lower than the one recorded (a new process given the
        // same id starts at 1 again): it is the one registered from now on.
        host.log.info({ workerId, epoch }, 'worker registered again: its earlier runs and results are gone');
        events.push({ type: 'workerLost', stimulusId, nowMs, workerId });
      }
      host.outbox.workerRegistered(workerId, host.workerSubject(workerId));
      host.workers.join(workerId, epoch, wire.register, nowMs);
      events.push({ type: 'workerJoined', stimulusId, nowMs, workerId, threads, resources, address });
    } else {
      const seen = host.workers.seen(workerId, epoch, nowMs, wire.metrics);
      // Stale: sent before the worker started over; what it says is about runs and
      // results the scheduler has already written off.
      if (seen === 'stale') return;
      if (seen === 'unknown') {
        // Declared lost, or this coordinator is new: its reports are stale too.
        if (wire.goodbye) return;
        host.log.info({ workerId, epoch }, 'message from an unregistered worker: asking it to register again');
        this.askToRegister(workerId, epoch);
        return;
      }
    }
    // Before the scheduler takes the holders of a missing input off its books.
    for (const m of wire.missing) for (const holder of host.scheduler.holdersOf(m.depId)) if (holder !== workerId) host.suspect(holder);
    for (const ev of reportEvents(wire, stimulusId, nowMs)) events.push(ev); // a report may be huge: no spread
    host.metrics.finished(wire.finished.length, wire.failed.length);
    if (host.progress.active) {
      for (const f of wire.finished) host.progress.report(f.id, 'done');
      for (const f of wire.failed) host.progress.report(f.id, 'failed');
    }
    if (wire.retiring) events.push(...this.retiring(workerId, stimulusId, nowMs));
    if (wire.goodbye) {
      events.push({ type: 'workerLost', stimulusId, nowMs, workerId });
      host.workers.remove(workerId);
      host.forgetLater(host.workerSubject(workerId));
    }
    if (events.length > 0) host.handle(...events);
  }

  /** Workers silent past the heartbeat timeout (see liveness.ts). */
  lost(lost: { workerId: string; epoch: number }[], nowMs: number): void {
    const stimulusId = this.host.nextStimulus('heartbeat-timeout');
    for (const { workerId, epoch } of lost) {
      this.host.workers.remove(workerId);
      // If it is alive after all (a partition that healed), it must start over; nothing
      // sent to it before counts any more.
      this.askToRegister(workerId, epoch);
    }
    this.host.handle(...lost.map(({ workerId }): SchedulerEvent => ({ type: 'workerLost', stimulusId, nowMs, workerId })));
  }

  /** Tells a worker it may leave, and forgets it. */
  retired(workerId: string): void {
    this.host.outbox.worker(workerId).retired = true;
    this.host.workers.remove(workerId);
    this.host.forgetLater(this.host.workerSubject(workerId));
  }

  /**
   * Tells incarnation `epoch` of a worker to start over and register again; its link is
   * dropped once that is sent. Several such requests to one incarnation (stale messages
   * bring one each) make it start over once: it ignores the ones to an earlier incarnation.
   */
  private askToRegister(workerId: string, epoch: number): void {
    const batch = this.host.outbox.worker(workerId);
    batch.reregister = true;
    batch.epoch = epoch;
    this.host.forgetLater(this.host.workerSubject(workerId));
  }

  /**
   * A worker asks to leave. With other workers to take over, the scheduler moves its
   * work and results away and then says `retired`. The last worker cannot hand anything
   * over: it simply leaves (what only it held is recomputed if it is needed later).
   */
  private retiring(workerId: string, stimulusId: string, nowMs: number): SchedulerEvent[] {
    const others = this.host.scheduler.workerInfo().some((w) => w.id !== workerId && !w.retiring);
    if (others) return [{ type: 'workerRetiring', stimulusId, nowMs, workerId }];
    this.retired(workerId);
    return [{ type: 'workerLost', stimulusId, nowMs, workerId }];
  }
}
