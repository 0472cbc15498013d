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
import protobuf from 'protobufjs';
import { FloeError } from '../errors.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import { PROTOCOL_VERSION, type MissingResult, type WireOf } from './messages.ts';

const utf8 = protobuf.util.utf8;

/** Strings from this length on are written by Buffer (as protobufjs' BufferWriter does). */
const SHORT_STRING_MAX = 39;

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

/** A buffer for an envelope whose body (the field with this tag) is `body` bytes long, its header written. */
function startEnvelope(tag: number, body: number): Out {
  const w = new Out(Buffer.allocUnsafe(2 + messageField(body)));
  w.varint(8).varint(PROTOCOL_VERSION).varint(tag).varint(body);
  return w;
}

function specSize(spec: TaskSpec): number {
  let n = stringField(spec.key) + stringField(spec.name) + stringField(spec.module) + stringField(spec.exportName);
  if (spec.args != null) n += 1 + varintSize(spec.args.length) + spec.args.length;
  for (const dep of spec.deps) n += stringField(dep);
  if (spec.serializer != null) n += messageField(serializerSize(spec.serializer));
  if (spec.priority != null) n += 9;
  if (spec.retries != null) n += 1 + varintSize(spec.retries >>> 0);
  if (spec.retryDelayMs != null) n += 9;
  if (spec.retryBackoff != null) n += 9;
  if (spec.timeoutMs != null) n += 9;
  for (const name in spec.resources) n += messageField(resourceSize(name, spec.resources[name]));
  n += stringField(spec.traceParent) + stringField(spec.actor);
  if (spec.restartsMax != null) n += 2 + varintSize(spec.restartsMax >>> 0);
  if (spec.holdsActors != null) for (const id of spec.holdsActors) n += 1 + stringField(id);
  return n;
}

function writeSpec(w: Out, spec: TaskSpec): void {
  if (spec.key != null) w.varint(10).string(spec.key);
  if (spec.name != null) w.varint(18).string(spec.name);
  if (spec.module != null) w.varint(26).string(spec.module);
  if (spec.exportName != null) w.varint(34).string(spec.exportName);
  if (spec.args != null) w.varint(42).bytes(spec.args);
  for (const dep of spec.deps) w.varint(50).string(dep);
  if (spec.serializer != null) {
    w.varint(58).varint(serializerSize(spec.serializer));
    if (spec.serializer.id != null) w.varint(10).string(spec.serializer.id);
    if (spec.serializer.module != null) w.varint(18).string(spec.serializer.module);
  }
  if (spec.priority != null) w.varint(65).double(spec.priority);
  if (spec.retries != null) w.varint(72).varint(spec.retries >>> 0);
  if (spec.retryDelayMs != null) w.varint(81).double(spec.retryDelayMs);
  if (spec.retryBackoff != null) w.varint(89).double(spec.retryBackoff);
  if (spec.timeoutMs != null) w.varint(97).double(spec.timeoutMs);
  for (const name in spec.resources) {
    const amount = spec.resources[name];
    w.varint(106).varint(resourceSize(name, amount));
    w.varint(10).string(name);
    if (amount != null) w.varint(17).double(amount);
  }
  if (spec.traceParent != null) w.varint(114).string(spec.traceParent);
  if (spec.actor != null) w.varint(122).string(spec.actor);
  if (spec.restartsMax != null) w.varint(128).varint(spec.restartsMax >>> 0);
  if (spec.holdsActors != null) for (const id of spec.holdsActors) w.varint(138).string(id);
}

function serializerSize(ref: SerializerRef): number {
  return stringField(ref.id) + stringField(ref.module);
}

function resourceSize(name: string, amount: number | undefined): number {
  return stringField(name) + (amount == null ? 0 : 9);
}

function missingSize(m: MissingResult): number {
  return stringField(m.key) + stringField(m.workerId);
}

/** Bytes of a string field with a one-byte tag (0 when unset). */
function stringField(value: string | undefined): number {
  if (value == null) return 0;
  const len = stringBytes(value);
  return 1 + varintSize(len) + len;
}

/** Bytes of a sub-message field with a one-byte tag. */
function messageField(size: number): number {
  return 1 + varintSize(size) + size;
}

/** UTF-8 length as protobufjs' BufferWriter counts it (Buffer.byteLength), without the native call for ASCII. */
function stringBytes(value: string): number {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return Buffer.byteLength(value);
  return value.length;
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** A cursor over the message's buffer. */
class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(value: number): this {
    let v = value >>> 0;
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  string(value: string): this {
    const len = stringBytes(value);
    this.varint(len);
    if (len === value.length) {
      for (let i = 0; i < len; i++) this.buf[this.pos + i] = value.charCodeAt(i);
    } else if (value.length <= SHORT_STRING_MAX) {
      utf8.write(value, this.buf, this.pos);
    } else {
      this.buf.write(value, this.pos, len, 'utf8');
    }
    this.pos += len;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** The message, once it is exactly as long as sized (anything else is a bug here). */
  finish(what: string): Buffer {
    if (this.pos !== this.buf.length) throw new FloeError('INTERNAL', `${what} encoder wrote ${this.pos} bytes of ${this.buf.length}`);
    return this.buf;
  }

  double(value: number): this {
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }
}
