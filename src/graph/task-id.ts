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
 * The run id of a run a worker started on its own, from a direct submission
 * (client/direct.ts). The scheduler numbers its runs from 1, so a run it assigns for the
 * same task always counts as newer on the worker and replaces this one.
 */
export const DIRECT_RUN_ID = 0;
