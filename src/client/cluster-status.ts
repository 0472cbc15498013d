/**
 * A snapshot of the cluster from its coordinator, as Dask's `Client.scheduler_info()`
 * gives one: each worker (threads, runs in flight, results held, metrics), the number of
 * tasks in each state, the tasks waiting and why, and the clients it knows. `floe status`
 * prints the same snapshot.
 */
import { FloeError, fromErrorInfo } from '../errors.ts';
import { decodeMessage, encodeMessage } from '../transport/codec.ts';
import type { WireClusterStatus, WireMessage, WireOf, WireWorkerStatus } from '../transport/messages.ts';
import type { Transport } from '../transport/transport.ts';

export type ClusterStatus = WireClusterStatus;
export type WorkerStatus = WireWorkerStatus;

/**
 * Sends `request` to the coordinator listening on `subject` (subjects(cluster).status, which
 * it answers directly) and gives its answer of type `answer`; an error answer is thrown.
 */
export async function askCoordinator<K extends WireMessage['type']>(transport: Transport, subject: string, request: WireMessage, answer: K, timeoutMs: number): Promise<WireOf<K>> {
  const reply = decodeMessage((await transport.request(subject, encodeMessage(request), { timeoutMs })).data);
  if (reply.type === 'error') throw fromErrorInfo(reply.error);
  if (reply.type !== answer) throw new FloeError('MALFORMED_MESSAGE', `unexpected ${reply.type} reply to a ${request.type}`);
  return reply as WireOf<K>;
}

/** Asks the coordinator listening on `subject` (subjects(cluster).status) for its snapshot. */
export async function requestClusterStatus(transport: Transport, subject: string, timeoutMs: number): Promise<ClusterStatus> {
  const { type: _type, ...status } = await askCoordinator(transport, subject, { type: 'statusRequest' }, 'clusterStatus', timeoutMs);
  return status;
}

/**
 * Which workers hold each of `keys`' results (Client.whoHas, Dask's `who_has`), as the
 * coordinator listening on `subject` knows it: worker ids, none for a key no worker holds.
 */
export async function requestWhoHas(transport: Transport, subject: string, clientId: string, keys: string[], timeoutMs: number): Promise<Map<string, string[]>> {
  const reply = await askCoordinator(transport, subject, { type: 'whoHasRequest', clientId, keys }, 'whoHasReply', timeoutMs);
  return new Map(reply.keys.map((k) => [k.key, k.workers]));
}

/** Whether the cluster has no task and no result left: nothing submitted is still held anywhere. */
export function isIdle(status: ClusterStatus): boolean {
  for (const n of Object.values(status.tasks)) if (n > 0) return false;
  return status.workers.every((w) => w.processing === 0 && w.held === 0);
}
