/**
 * Between the scheduler and the wire: worker reports -> scheduler events, assignments ->
 * wire assignments, the state -> a status snapshot. Pure; the coordinator adds what needs
 * its own bookkeeping (registration, retirement, goodbye; trace context).
 */
import { taskId } from '../graph/task-id.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerEvent } from '../scheduler/types.ts';
import type { KeyUpdate, WireAssign, WireClusterStatus, WireDepLocation, WireOf } from '../transport/messages.ts';
import type { WorkerRegistry } from './worker-registry.ts';

export function reportEvents(wire: WireOf<'workerEvents'>, stimulusId: string, nowMs: number): SchedulerEvent[] {
  const { workerId } = wire;
  const events: SchedulerEvent[] = [];
  for (const f of wire.finished) {
    const { id, runId, nbytes, serializer, inline, durationMs } = f;
    events.push({ type: 'taskFinished', stimulusId, nowMs, workerId, id, runId, nbytes, serializer, inline, durationMs });
  }
  for (const f of wire.failed) {
    events.push({ type: 'taskFailed', stimulusId, nowMs, workerId, id: f.id, runId: f.runId, error: f.error });
  }
  // Before the runs it gave back are placed again: not on a worker whose threads all straggle.
  for (const r of wire.straggling) events.push({ type: 'taskStraggling', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const r of wire.stolen) events.push({ type: 'stealGranted', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const r of wire.stealRefused) events.push({ type: 'stealRefused', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const m of wire.missing) {
    events.push({ type: 'inputMissing', stimulusId, nowMs, workerId, id: m.id, runId: m.runId, depId: m.depId });
  }
  for (const r of wire.seceded) events.push({ type: 'taskSeceded', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const r of wire.rejoined) events.push({ type: 'taskRejoined', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  if (wire.replicated.length > 0) events.push({ type: 'replicated', stimulusId, nowMs, workerId, ids: wire.replicated });
  if (wire.replicateFailed.length > 0) events.push({ type: 'replicateFailed', stimulusId, nowMs, workerId, ids: wire.replicateFailed });
  return events;
}

/** The inputs of an assignment without any (never changed: a batch is only encoded). */
const NO_DEPS: WireDepLocation[] = [];

/** An assignment as the worker gets it: its inputs' holders with their data-plane addresses. */
export function wireAssign(
  command: Extract<SchedulerCommand, { type: 'assign' }>,
  traceParent: string,
  addressOf: (workerId: string) => string,
): WireAssign {
  const assign: WireAssign = {
    id: command.id,
    runId: command.runId,
    attempt: command.attempt,
    order: command.order,
    tellClient: command.tellClient,
    spec: command.spec,
    // Most tasks have no inputs: one shared empty list for them (this runs once per task).
    deps: command.deps.length === 0 ? NO_DEPS : command.deps.map((d) => ({
      id: d.id,
      holders: d.holders.map((workerId) => ({ workerId, address: addressOf(workerId) })),
      nbytes: d.nbytes,
      serializer: d.serializer,
      inline: d.inline,
    })),
  };
  // Set only when traced (not spread in: this runs once per task).
  if (traceParent !== '') assign.traceParent = traceParent;
  return assign;
}

/** A key update for the client, with the data-plane address of the worker holding the result. */
export function wireKeyUpdate(command: Extract<SchedulerCommand, { type: 'notifyClient' }>, address: string): KeyUpdate {
  return {
    key: command.key,
    status: command.status,
    workerId: command.workerId,
    address,
    nbytes: command.nbytes,
    serializer: command.serializer,
    inline: command.inline,
    error: command.error,
  };
}

/** Which workers hold the results of the keys a client asked about (Client.whoHas). */
export function whoHasReply(scheduler: Scheduler, request: WireOf<'whoHasRequest'>): WireOf<'whoHasReply'> {
  const prefix = taskId(request.clientId, '');
  return { type: 'whoHasReply', keys: request.keys.map((key) => ({ key, workers: scheduler.holdersOf(prefix + key) })) };
}

/** A snapshot for `floe status`. */
export function clusterStatus(scheduler: Scheduler, registry: WorkerRegistry, clients: number, nowMs: number): WireClusterStatus {
  const workers = scheduler.workerInfo().map((w) => {
    const record = registry.get(w.id);
    return {
      id: w.id,
      name: record?.name ?? w.id,
      address: w.address,
      threads: w.threads,
      processing: w.processing,
      held: w.held,
      resources: w.resources,
      metrics: record?.metrics,
      metricsAgeMs: record?.metrics === undefined ? 0 : Math.max(0, Math.round(nowMs - record.metricsAtMs)),
      retiring: w.retiring,
      epoch: record?.epoch ?? 0,
    };
  });
  const tasks: Record<string, number> = { ...scheduler.counts };
  const waiting = scheduler.waitingReasons().map((w) => ({ id: w.id, reason: w.reason }));
  return { workers, tasks, waiting, clients };
}
