/**
 * Worker reports on the wire → scheduler events. Pure; the coordinator adds the events
 * that need its own bookkeeping (registration, retirement, goodbye).
 */
import type { SchedulerEvent } from '../scheduler/types.ts';
import type { WireOf } from '../transport/messages.ts';

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
  for (const r of wire.stolen) events.push({ type: 'stealGranted', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const r of wire.stealRefused) events.push({ type: 'stealRefused', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const m of wire.missing) {
    events.push({ type: 'inputMissing', stimulusId, nowMs, workerId, id: m.id, runId: m.runId, depId: m.depId });
  }
  for (const r of wire.seceded) events.push({ type: 'taskSeceded', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  for (const r of wire.rejoined) events.push({ type: 'taskRejoined', stimulusId, nowMs, workerId, id: r.id, runId: r.runId });
  if (wire.replicated.length > 0) events.push({ type: 'replicated', stimulusId, nowMs, workerId, ids: wire.replicated });
  return events;
}
