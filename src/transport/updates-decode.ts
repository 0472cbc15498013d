/**
 * What a client reads per task, straight from its bytes (proto-read.ts): the key updates
 * the coordinator (or a worker, for the results it reports itself) sends it (`Envelope {
 * client_updates: ClientUpdates }`, the mirror of updates-encode.ts), and the answers to
 * its submissions (`Envelope { submit_reply: SubmitReply }`). Gives exactly what
 * codec-decode.ts gives for the same bytes; test/unit/direct-decode*.test.ts hold the two
 * to it. Field numbers: proto/floe.proto (ClientUpdates, KeyUpdate, TaskProgress,
 * SubmitReply).
 */
import type { ErrorInfo } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { keyStatus, NO_BYTES, nonEmpty, progressKind, serializerRef } from './decode-shared.ts';
import type { KeyUpdate, TaskProgress, WireOf } from './messages.ts';
import { type ProtoReader, StringSlot } from './proto-read.ts';
import { readError, readSerializer } from './spec-read.ts';

/** Where a client's results are: mostly the same few workers (ProtoReader.repeated). */
const WORKER_ID = new StringSlot();
const ADDRESS = new StringSlot();

/** The ClientUpdates `r` is over. */
export function decodeClientUpdatesBody(r: ProtoReader): WireOf<'clientUpdates'> {
  const updates: KeyUpdate[] = [];
  const progress: TaskProgress[] = [];
  let dropped = false;
  let incarnation = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: updates.push(readUpdate(r)); break;
      case 18: progress.push(readProgress(r)); break;
      case 24: dropped = r.bool(); break;
      case 34: incarnation = r.string(); break;
      default: r.unknown(tag, 4);
    }
  }
  return {
    type: 'clientUpdates',
    updates,
    ...(progress.length > 0 ? { progress } : {}),
    ...(dropped ? { dropped: true as const } : {}),
    ...(incarnation !== '' ? { incarnation } : {}),
  };
}

function readUpdate(r: ProtoReader): KeyUpdate {
  const outer = r.enter();
  let key = '';
  let status = 0;
  let workerId = '';
  let address = '';
  let nbytes = 0;
  let serializer: SerializerRef | undefined;
  let inline: Uint8Array = NO_BYTES;
  let hasInline = false;
  let error: ErrorInfo | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: key = r.string(); break;
      case 16: status = r.int32(); break;
      case 26: workerId = r.repeated(WORKER_ID); break;
      case 34: address = r.repeated(ADDRESS); break;
      case 40: nbytes = r.uint64(); break;
      case 50: serializer = readSerializer(r); break;
      case 58: inline = r.bytes(); break;
      case 64: hasInline = r.bool(); break;
      case 74: error = readError(r); break;
      default: r.unknown(tag, 9);
    }
  }
  r.leave(outer);
  return {
    key: nonEmpty(key, 'update.key'),
    status: keyStatus(status),
    workerId,
    address,
    nbytes,
    serializer: serializer ?? serializerRef('', ''),
    inline: hasInline ? inline : undefined,
    error,
  };
}

function readProgress(r: ProtoReader): TaskProgress {
  const outer = r.enter();
  let key = '';
  let kind = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) key = r.string();
    else if (tag === 16) kind = r.int32();
    else r.unknown(tag, 2);
  }
  r.leave(outer);
  return { key: nonEmpty(key, 'progress.key'), kind: progressKind(kind) };
}

/** The SubmitReply `r` is over: the answer to a submission. */
export function decodeSubmitReplyBody(r: ProtoReader): WireOf<'submitReply'> {
  let requestId = '';
  let error: ErrorInfo | undefined;
  let incarnation = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: requestId = r.string(); break;
      case 18: error = readError(r); break;
      case 26: incarnation = r.string(); break;
      default: r.unknown(tag, 3);
    }
  }
  return { type: 'submitReply', requestId, error, ...(incarnation !== '' ? { incarnation } : {}) };
}
