/**
 * A snapshot of the cluster from its coordinator, as Dask's `Client.scheduler_info()`
 * gives one: each worker (threads, runs in flight, results held, metrics), the number of
 * tasks in each state, the tasks waiting and why, and the clients it knows. `floe status`
 * prints the same snapshot.
 */
import { FloeError, fromErrorInfo } from '../errors.ts';
import { decodeMessage, encodeMessage } from '../transport/codec.ts';
import type { WireClusterStatus, WireWorkerStatus } from '../transport/messages.ts';
import type { Transport } from '../transport/transport.ts';

export type ClusterStatus = WireClusterStatus;
export type WorkerStatus = WireWorkerStatus;

/** Asks the coordinator listening on `subject` (subjects(cluster).status) for its snapshot. */
export async function requestClusterStatus(transport: Transport, subject: string, timeoutMs: number): Promise<ClusterStatus> {
  const reply = await transport.request(subject, encodeMessage({ type: 'statusRequest' }), { timeoutMs });
  const msg = decodeMessage(reply.data);
  if (msg.type === 'error') throw fromErrorInfo(msg.error);
  if (msg.type !== 'clusterStatus') throw new FloeError('MALFORMED_MESSAGE', `unexpected ${msg.type} reply to a status request`);
  const { type: _type, ...status } = msg;
  return status;
}

/**
 * Which workers hold each of `keys`' results (Client.whoHas, Dask's `who_has`), as the
 * coordinator listening on `subject` knows it: worker ids, none for a key no worker holds.
 */
export async function requestWhoHas(transport: Transport, subject: string, clientId: string, keys: string[], timeoutMs: number): Promise<Map<string, string[]>> {
  const reply = await transport.request(subject, encodeMessage({ type: 'whoHasRequest', clientId, keys }), { timeoutMs });
  const msg = decodeMessage(reply.data);
  if (msg.type === 'error') throw fromErrorInfo(msg.error);
  if (msg.type !== 'whoHasReply') throw new FloeError('MALFORMED_MESSAGE', `unexpected ${msg.type} reply to a whoHas request`);
  return new Map(msg.keys.map((k) => [k.key, k.workers]));
}

/** Whether the cluster has no task and no result left: nothing submitted is still held anywhere. */
export function isIdle(status: ClusterStatus): boolean {
  for (const n of Object.values(status.tasks)) if (n > 0) return false;
  return status.workers.every((w) => w.processing === 0 && w.held === 0);
}
