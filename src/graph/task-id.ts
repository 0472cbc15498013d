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
