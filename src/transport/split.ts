/**
 * Batches that outgrow the transport's payload limit (NATS `max_payload`, 1 MiB by
 * default) go out as several messages instead of failing. A batch is a message with lists
 * that its receiver processes list by list, in a fixed order; it is cut into contiguous
 * pieces of that order, so the receiver processes every item in the same order as if the
 * batch had arrived whole. Flags ride on the last piece.
 *
 * Only the oversized case pays: a batch that fits is encoded once, as before.
 */
import { encodeMessage } from './codec.ts';
import type { WireOf } from './messages.ts';

/** Bytes left for the reliable link's frame header (session, seq, ack subject). */
export const FRAME_OVERHEAD_BYTES = 1024;

/**
 * List fields in the order the receiver processes them (WorkerNode, reportEvents,
 * onClientBatch). Every list of these messages must be here, or a split would copy it onto
 * every piece (test/unit/split.test.ts checks this against the decoded messages).
 */
export const LIST_ORDER = {
  workerBatch: ['cancel', 'assign', 'release', 'steal', 'replicate', 'clientsGone'],
  workerEvents: ['relayed', 'finished', 'failed', 'straggling', 'stolen', 'stealRefused', 'missing', 'seceded', 'rejoined', 'replicated', 'replicateFailed'],
  clientUpdates: ['updates', 'progress'],
  clientBatch: ['cancel', 'release'],
} as const;

/** Flags that belong to the batch as a whole, cleared on all pieces but the last. */
const FLAGS_OFF = {
  workerBatch: { retired: false, reregister: false },
  workerEvents: { heartbeat: false, goodbye: false, retiring: false, register: undefined, metrics: undefined },
  clientUpdates: { dropped: undefined },
  clientBatch: { hello: false, bye: false, heartbeatIntervalMs: undefined },
} as const;

type Splittable = WireOf<keyof typeof LIST_ORDER>;

/**
 * Encodes `msg` as one message when it fits in `maxBytes` (minus the frame overhead), else
 * as several. A single item larger than the limit stays alone in its piece: sending it
 * then fails with the link's own LIMIT_EXCEEDED error, which names the sizes.
 */
export function encodeWithin(msg: Splittable, maxBytes: number | undefined): Uint8Array[] {
  const whole = encodeMessage(msg);
  if (maxBytes === undefined || whole.byteLength <= maxBytes - FRAME_OVERHEAD_BYTES) return [whole];
  const items = flatten(msg);
  if (items.length <= 1) return [whole];
  const mid = items.length >> 1;
  const first = rebuild(msg, items.slice(0, mid), false);
  const rest = rebuild(msg, items.slice(mid), true);
  return [...encodeWithin(first, maxBytes), ...encodeWithin(rest, maxBytes)];
}

type Item = readonly [field: string, value: unknown];

function flatten(msg: Splittable): Item[] {
  const items: Item[] = [];
  const record = msg as unknown as Record<string, unknown[]>;
  for (const field of LIST_ORDER[msg.type]) for (const value of record[field] ?? []) items.push([field, value]);
  return items;
}

function rebuild(msg: Splittable, items: Item[], last: boolean): Splittable {
  const lists: Record<string, unknown[]> = {};
  for (const field of LIST_ORDER[msg.type]) lists[field] = [];
  for (const [field, value] of items) lists[field]!.push(value);
  return { ...msg, ...(last ? {} : FLAGS_OFF[msg.type]), ...lists };
}
