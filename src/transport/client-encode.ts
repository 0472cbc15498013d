/**
 * The two messages a client sends per task, encoded straight into one buffer: the submit
 * message (`Envelope { submit: SubmitGraph }`), in a pass that sizes every task and a pass
 * that writes, and the releases (`Envelope { client_batch: ClientBatch }`). protobufjs'
 * Writer allocates an operation object per field and a fork per sub-message, several
 * hundred bytes of garbage per task, all alive until the message is done; a submission of
 * thousands of tasks paid for that in young-generation collections.
 *
 * The bytes are exactly those of protobufjs' generated encoder given `toProtoBody(msg)`
 * (fields in number order, a field written when it is set, even to its default; strings
 * written as protobufjs writes them); test/unit/client-encode.test.ts holds the two to it.
 * Field numbers: proto/floe.proto (Envelope.submit = 10, Envelope.client_batch = 12,
 * SubmitGraph, TaskSpec, SerializerRef, ResourceAmount, MissingResult, ClientBatch).
 */
import type { MissingResult, WireOf } from './messages.ts';
import { messageField, specSize, startEnvelope, stringField, varintSize, writeSpec } from './proto-write.ts';

/** Encodes a whole submit control message (the envelope included). */
export function encodeSubmitMessage(msg: WireOf<'submit'>): Uint8Array {
  const { tasks } = msg;
  // Task sizes are needed twice (the length prefix, then the write): kept in one array.
  const taskSizes = new Uint32Array(tasks.length);
  let body = stringField(msg.clientId) + stringField(msg.requestId);
  for (let i = 0; i < tasks.length; i++) {
    const size = specSize(tasks[i]!);
    taskSizes[i] = size;
    body += 1 + varintSize(size) + size;
  }
  for (const key of msg.wants) body += stringField(key);
  const missing = msg.missing ?? [];
  for (const m of missing) body += messageField(missingSize(m));
  if (msg.progress != null) body += 2;
  const w = startEnvelope(82, body);
  if (msg.clientId != null) w.varint(10).string(msg.clientId);
  if (msg.requestId != null) w.varint(18).string(msg.requestId);
  for (let i = 0; i < tasks.length; i++) {
    w.varint(26).varint(taskSizes[i]!);
    writeSpec(w, tasks[i]!);
  }
  for (const key of msg.wants) w.varint(34).string(key);
  for (const m of missing) {
    w.varint(42).varint(missingSize(m));
    if (m.key != null) w.varint(10).string(m.key);
    if (m.workerId != null) w.varint(18).string(m.workerId);
  }
  if (msg.progress != null) w.varint(48).varint(msg.progress ? 1 : 0);
  return w.finish('submit');
}

/** Encodes a whole clientBatch control message (the envelope included). */
export function encodeClientBatchMessage(msg: WireOf<'clientBatch'>): Uint8Array {
  let body = stringField(msg.clientId);
  for (const key of msg.release) body += stringField(key);
  for (const key of msg.cancel) body += stringField(key);
  if (msg.hello != null) body += 2;
  if (msg.bye != null) body += 2;
  const w = startEnvelope(98, body);
  if (msg.clientId != null) w.varint(10).string(msg.clientId);
  for (const key of msg.release) w.varint(18).string(key);
  for (const key of msg.cancel) w.varint(26).string(key);
  if (msg.hello != null) w.varint(32).varint(msg.hello ? 1 : 0);
  if (msg.bye != null) w.varint(40).varint(msg.bye ? 1 : 0);
  return w.finish('clientBatch');
}

function missingSize(m: MissingResult): number {
  return stringField(m.key) + stringField(m.workerId);
}
