/**
 * The events one control message of the coordinator (workerBatch) brings the worker's
 * state machine (worker/state.ts), in the order the worker handles them.
 *
 * The coordinator gathers a worker's commands of one turn by kind, so the message no
 * longer says in which order the scheduler issued them. Assignments go first: a run id is
 * never reused and a later run of a task replaces an earlier one (WorkerState.onAssign), and
 * a cancel names its run. So a cancel of an earlier run, issued before the assignment that
 * replaces it, finds nothing to do, and a cancel of the very run assigned, issued after it
 * (an early run taken back in the same turn: scheduler/early.ts), still finds it. Handled
 * the other way round, that cancel found nothing and the run stayed on the worker, waiting
 * for an input that was never to be made there, while the scheduler ran the task elsewhere.
 */
import type { WireOf } from '../transport/messages.ts';
import type { WorkerEvent } from './state-types.ts';

export function controlEvents(wire: WireOf<'workerBatch'>, stimulusId: string): WorkerEvent[] {
  const events: WorkerEvent[] = [];
  if (wire.assign.length > 0) events.push({ type: 'assigned', stimulusId, tasks: wire.assign });
  for (const c of wire.cancel) events.push({ type: 'cancelled', stimulusId, id: c.id, runId: c.runId });
  if (wire.release.length > 0) events.push({ type: 'released', stimulusId, ids: wire.release });
  for (const s of wire.steal) events.push({ type: 'steal', stimulusId, id: s.id, runId: s.runId });
  for (const r of wire.replicate) {
    const addresses = r.holders.map((h) => h.address).filter((a) => a !== '');
    events.push({ type: 'replicate', stimulusId, id: r.id, addresses, serializer: r.serializer });
  }
  return events;
}
