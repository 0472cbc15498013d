/**
 * Actor tasks waiting to start on a worker, part of its pure state machine (worker/state.ts):
 * one queue per actor, in assignment order (the scheduler assigns calls in call order). A
 * task leaves its queue when it starts; one that waits for inputs holds up those after it,
 * so calls start in order. Actor tasks never take a thread slot: concurrency per actor is
 * the actor host's business (worker/actor-host.ts).
 *
 * Plain functions over a map the state machine owns (as batching.ts takes its ready heap),
 * so the state's per-event check stays a Map size read.
 */
import { ACTOR_CREATE, isActorSpec } from '../graph/spec.ts';
import type { WireAssign } from '../transport/messages.ts';
import type { WorkerCommand, WorkerTask } from './state-types.ts';

/** Actor id -> its tasks not started yet, oldest first; no empty queues. */
export type ActorQueues = Map<string, WorkerTask[]>;

/** The actor an actor task belongs to (creation: its own id; calls: spec.actor). */
export function actorOf(a: WireAssign): string | undefined {
  if (!isActorSpec(a.spec)) return undefined;
  return a.spec.actor === ACTOR_CREATE ? a.id : a.spec.actor;
}

/** Queues a newly assigned actor task behind its actor's earlier ones. */
export function enqueueActorTask(queues: ActorQueues, actor: string, task: WorkerTask): void {
  let queue = queues.get(actor);
  if (queue === undefined) queues.set(actor, (queue = []));
  queue.push(task);
}

/** Takes a dropped actor task (cancelled, stolen, failed input) out of its queue. */
export function leaveActorQueue(queues: ActorQueues, actor: string, task: WorkerTask): void {
  const queue = queues.get(actor);
  if (queue === undefined) return;
  const i = queue.indexOf(task);
  if (i >= 0) queue.splice(i, 1);
  if (queue.length === 0) queues.delete(actor);
}

/** Starts the tasks at the head of each queue whose inputs are here. */
export function startActorTasks(queues: ActorQueues, sid: string, out: WorkerCommand[]): void {
  for (const [actor, queue] of queues) {
    while (queue.length > 0 && queue[0]!.state === 'ready') {
      const task = queue.shift()!;
      task.state = 'executing';
      out.push({ type: 'execute', stimulusId: sid, assign: task.assign });
    }
    if (queue.length === 0) queues.delete(actor);
  }
}
