/**
 * What the coordinator sends a client (`Envelope { client_updates: ClientUpdates }`): one
 * KeyUpdate per finished, failed or cancelled task the client holds a future for, encoded
 * straight into one buffer (see proto-write.ts), as the workerBatch is. An update's error
 * (rare) is written by protobufjs. Also the answer to a submission that was accepted
 * (`Envelope { submit_reply: SubmitReply }`, one per lone task's round trip); a refusal,
 * with its error, goes through protobufjs.
 *
 * The output is exactly what protobufjs' generated encoder writes given
 * `toProtoBody(msg)`; test/unit/updates-encode.test.ts holds the two to it. Field numbers:
 * proto/floe.proto (Envelope.client_updates = 13, ClientUpdates, KeyUpdate, TaskProgress,
 * SerializerRef).
 */
import type protobuf from 'protobufjs';
import { assert } from '../errors.ts';
import { PROGRESS_TO_WIRE, STATUS_TO_WIRE } from './codec-encode.ts';
import type { KeyUpdate, TaskProgress, WireOf } from './messages.ts';
import { messageField, Out, resultRefSize, startEnvelope, stringField, varintSize, writeResultRef } from './proto-write.ts';

type Updates = WireOf<'clientUpdates'>;

/** Envelope.submit_reply = 11, length-delimited. */
const SUBMIT_REPLY_TAG = 90;

/** Encodes the answer to a submission that was accepted (no error: codec.ts sends a refusal through protobufjs), the envelope included. */
export function encodeSubmitReplyMessage(msg: WireOf<'submitReply'>): Uint8Array {
  assert(msg.error === undefined, 'a refused submission is encoded by protobufjs');
  const w = startEnvelope(SUBMIT_REPLY_TAG, stringField(msg.requestId) + stringField(msg.incarnation));
  w.varint(10).string(msg.requestId);
  if (msg.incarnation != null) w.varint(26).string(msg.incarnation);
  return w.finish('submitReply');
}


/** Encodes a whole clientUpdates control message (the envelope included). */
export function encodeClientUpdatesMessage(msg: Updates, lookupType: (name: string) => protobuf.Type): Uint8Array {
  const { updates } = msg;
  const progress = msg.progress ?? [];
  const sizes = new Uint32Array(updates.length);
  // Errors are few: encoded once here, copied in below.
  let errors: Map<KeyUpdate, Uint8Array> | undefined;
  let body = 0;
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i]!;
    let error: Uint8Array | undefined;
    if (u.error != null) {
      error = lookupType('floe.v1.ErrorInfo').encode(u.error).finish();
      (errors ??= new Map()).set(u, error);
    }
    const size = updateSize(u, error);
    sizes[i] = size;
    body += messageField(size);
  }
  for (const p of progress) body += messageField(progressSize(p));
  if (msg.dropped != null) body += 2;
  body += stringField(msg.incarnation);

  const w = startEnvelope(106, body);
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i]!;
    w.varint(10).varint(sizes[i]!);
    writeUpdate(w, u, errors?.get(u));
  }
  for (const p of progress) {
    w.varint(18).varint(progressSize(p));
    if (p.key != null) w.varint(10).string(p.key);
    if (p.kind != null) w.varint(16).varint(PROGRESS_TO_WIRE[p.kind]);
  }
  if (msg.dropped != null) w.varint(24).varint(msg.dropped ? 1 : 0);
  if (msg.incarnation != null) w.varint(34).string(msg.incarnation);
  return w.finish('clientUpdates');
}

/**
 * Fields 3 and 4 of a KeyUpdate (worker id and address) as bytes, for the last pair seen:
 * the updates of a message mostly name one worker (every one of them, when a worker sends
 * them itself), and sizing and writing the same two strings again per update showed in a
 * worker's profile.
 */
class WorkerFields {
  #workerId: string | undefined;
  #address: string | undefined;
  #bytes: Uint8Array | undefined;

  of(workerId: string | undefined, address: string | undefined): Uint8Array {
    if (this.#bytes !== undefined && workerId === this.#workerId && address === this.#address) return this.#bytes;
    const w = new Out(Buffer.alloc(stringField(workerId) + stringField(address)));
    if (workerId != null) w.varint(26).string(workerId);
    if (address != null) w.varint(34).string(address);
    this.#workerId = workerId;
    this.#address = address;
    this.#bytes = w.buf;
    return w.buf;
  }
}

const workerFields = new WorkerFields();

function updateSize(u: KeyUpdate, error: Uint8Array | undefined): number {
  let n = stringField(u.key);
  if (u.status != null) n += 1 + varintSize(STATUS_TO_WIRE[u.status]);
  n += workerFields.of(u.workerId, u.address).length;
  n += resultRefSize(u);
  if (error !== undefined) n += messageField(error.length);
  return n;
}

function writeUpdate(w: Out, u: KeyUpdate, error: Uint8Array | undefined): void {
  if (u.key != null) w.varint(10).string(u.key);
  if (u.status != null) w.varint(16).varint(STATUS_TO_WIRE[u.status]);
  w.raw(workerFields.of(u.workerId, u.address));
  writeResultRef(w, 5, u);
  if (error !== undefined) w.varint(74).bytes(error);
}

function progressSize(p: TaskProgress): number {
  return stringField(p.key) + (p.kind == null ? 0 : 1 + varintSize(PROGRESS_TO_WIRE[p.kind]));
}
