/**
 * A task's id in the cluster is `${clientId}/${key}`: the client that submitted it and the
 * key the client gave it. Client ids have no '/', keys may.
 */
export function taskId(clientId: string, key: string): string {
  return `${clientId}/${key}`;
}

/** The key part of a task id (the whole id when it has no client part). */
export function keyOf(id: string): string {
  return id.slice(id.indexOf('/') + 1);
}

/** The client part of a task id ('' when it has none). */
export function clientOf(id: string): string {
  const slash = id.indexOf('/');
  return slash < 0 ? '' : id.slice(0, slash);
}

/**
 * Run ids of runs a worker starts on its own, from direct submissions (client/direct.ts):
 * this plus a count of the worker's own. The scheduler numbers its runs from 1 and never
 * comes near it, so run ids stay unique per worker (the scheduler finds a reported run by
 * its worker and run id). Below 2^53: exact as JavaScript numbers.
 */
export const DIRECT_RUN_IDS_FROM = 2 ** 52;

/** Whether a run id is of a run a worker started from a direct submission. */
export function isDirectRun(runId: number): boolean {
  return runId >= DIRECT_RUN_IDS_FROM;
}

/**
 * Whether run `next` of a task replaces run `current` of it on a worker: a later run of the
 * scheduler's, or any run of the scheduler's over a direct run (the scheduler assigns a
 * task only if it did not adopt the direct run). Anything else is a stale delivery.
 */
export function runReplaces(next: number, current: number): boolean {
  if (isDirectRun(next)) return false;
  return isDirectRun(current) || next > current;
}
