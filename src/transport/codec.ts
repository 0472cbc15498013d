/**
 * Protobuf codec for control messages: WireMessage <-> bytes of `floe.v1.Envelope`.
 *
 * Uses protobufjs reflection on proto/floe.proto. Encoding passes plain objects
 * straight to the generated encoder (no `fromObject` pass; codec-encode.ts), or writes
 * the per-task messages directly (*-encode.ts). Decoding reads the per-task messages
 * directly too (*-decode.ts, proto-read.ts), and the others through protobufjs
 * (codec-decode.ts); both validate everything a peer could get wrong and turn it into
 * MALFORMED_MESSAGE or UNSUPPORTED_VERSION, so a bad message is an error for its sender,
 * never a crash.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { FloeError } from '../errors.ts';
import { packageRoot } from '../util/package-root.ts';
import { fromProtoBody, type ProtoObject } from './codec-decode.ts';
import { toProtoBody } from './codec-encode.ts';
import { encodeClientBatchMessage, encodeSubmitMessage } from './client-encode.ts';
import { rememberSpecBytes } from './spec-bytes.ts';
import { encodeWorkerBatchMessage } from './worker-encode.ts';
import { encodeClientUpdatesMessage, encodeSubmitReplyMessage } from './updates-encode.ts';
import { encodeWorkerEventsMessage } from './events-encode.ts';
import { asBuffer, plainEnvelopeBody } from './proto-read.ts';
import { decodeClientBatchBody, decodeSubmitBody } from './submit-decode.ts';
import { decodeWorkerBatchBody } from './worker-decode.ts';
import { decodeWorkerEventsBody } from './events-decode.ts';
import { decodeClientUpdatesBody, decodeSubmitReplyBody } from './updates-decode.ts';
import { PROTOCOL_VERSION, type WireMessage } from './messages.ts';

/** Upper bound on one control message; larger payloads belong on the data plane. */
export const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

let root: protobuf.Root | undefined;

/** The parsed proto/floe.proto (loaded once per realm). */
export function protoRoot(): protobuf.Root {
  root ??= protobuf.loadSync(join(packageRoot(), 'proto', 'floe.proto'));
  return root;
}

let envelopeType: protobuf.Type | undefined;
function envelope(): protobuf.Type {
  envelopeType ??= protoRoot().lookupType('floe.v1.Envelope');
  return envelopeType;
}

const BODY_FIELD = {
  submit: 'submit',
  submitReply: 'submitReply',
  clientBatch: 'clientBatch',
  clientUpdates: 'clientUpdates',
  workerBatch: 'workerBatch',
  workerEvents: 'workerEvents',
  error: 'error',
  statusRequest: 'statusRequest',
  clusterStatus: 'clusterStatus',
  whoHasRequest: 'whoHasRequest',
  whoHasReply: 'whoHasReply',
  replicateRequest: 'replicateRequest',
  replicateReply: 'replicateReply',
} as const satisfies Record<WireMessage['type'], string>;

export function encodeMessage(msg: WireMessage): Uint8Array {
  // What a client sends per task (submissions, releases) is written directly.
  if (msg.type === 'submit') return encodeSubmitMessage(msg);
  if (msg.type === 'clientBatch') return encodeClientBatchMessage(msg);
  // ...and so is what the coordinator sends a worker (assignments, with specs as received).
  if (msg.type === 'workerBatch') return encodeWorkerBatchMessage(msg, (type) => protoRoot().lookupType(type));
  // ...and what it sends a client (a key update per task, the answer to a lone task's submission).
  if (msg.type === 'clientUpdates') return encodeClientUpdatesMessage(msg, (type) => protoRoot().lookupType(type));
  if (msg.type === 'submitReply' && msg.error === undefined) return encodeSubmitReplyMessage(msg);
  // ...and what a worker reports (a completion per task).
  if (msg.type === 'workerEvents') return encodeWorkerEventsMessage(msg, (type) => protoRoot().lookupType(type));
  const body = toProtoBody(msg);
  return envelope().encode({ version: PROTOCOL_VERSION, [BODY_FIELD[msg.type]]: body }).finish();
}

// ---- decoding ------------------------------------------------------------------------

/** Envelope fields of the bodies read directly (proto/floe.proto). */
const SUBMIT = 10;
const SUBMIT_REPLY = 11;
const CLIENT_BATCH = 12;
const CLIENT_UPDATES = 13;
const WORKER_BATCH = 14;
const WORKER_EVENTS = 15;

export function decodeMessage(bytes: Uint8Array): WireMessage {
  checkSize(bytes);
  const buf = asBuffer(bytes);
  // What is received per task is read straight from the bytes, in one pass (proto-read.ts).
  const body = plainEnvelopeBody(buf);
  switch (body?.field) {
    case SUBMIT:
      return decodeSubmitBody(body.reader, bytes);
    case SUBMIT_REPLY:
      return decodeSubmitReplyBody(body.reader);
    case CLIENT_BATCH:
      return decodeClientBatchBody(body.reader);
    case CLIENT_UPDATES:
      return decodeClientUpdatesBody(body.reader);
    case WORKER_BATCH:
      return decodeWorkerBatchBody(body.reader);
    case WORKER_EVENTS:
      return decodeWorkerEventsBody(body.reader);
    default:
      return viaProtobufjs(bytes, buf);
  }
}

/**
 * @internal decodeMessage as it was before the direct decoders: protobufjs decodes the
 * envelope, codec-decode.ts converts its body. The reference they are tested against.
 */
export function decodeMessageViaProtobufjs(bytes: Uint8Array): WireMessage {
  checkSize(bytes);
  return viaProtobufjs(bytes, asBuffer(bytes));
}

function checkSize(bytes: Uint8Array): void {
  if (bytes.byteLength > MESSAGE_BYTES_MAX) {
    throw new FloeError('MALFORMED_MESSAGE', `message of ${bytes.byteLength} bytes exceeds ${MESSAGE_BYTES_MAX}`);
  }
}

function viaProtobufjs(bytes: Uint8Array, buf: Buffer): WireMessage {
  // The decoded message itself is read below, not a `toObject` copy of it: unset scalars
  // read as their defaults from its prototype, repeated fields are its own arrays, unset
  // messages are null; uint64 fields may be Longs (num() converts), unset bytes are [].
  let decoded: ProtoObject;
  try {
    decoded = envelope().decode(buf) as unknown as ProtoObject;
  } catch (error) {
    throw new FloeError('MALFORMED_MESSAGE', `cannot decode control message: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (decoded.version !== PROTOCOL_VERSION) {
    throw new FloeError(
      'UNSUPPORTED_VERSION',
      `control message has protocol version ${String(decoded.version)}; this floe speaks ${PROTOCOL_VERSION}`,
    );
  }
  const which = decoded.body;
  const body = typeof which === 'string' ? (decoded[which] as ProtoObject | undefined) : undefined;
  if (body === undefined) throw new FloeError('MALFORMED_MESSAGE', 'control message has no body');
  const msg = fromProtoBody(which as WireMessage['type'], body);
  // Specs go on to workers as they came (see spec-bytes.ts).
  if (msg.type === 'submit') rememberSpecBytes(bytes, msg.tasks);
  return msg;
}
