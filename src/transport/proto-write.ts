/**
 * Writing protobuf straight into one buffer, for the control messages sent per task
 * (client-encode.ts: submissions and releases; worker-encode.ts: the coordinator's
 * workerBatch). A message is sized first (the *Size functions), then written into a
 * buffer of exactly that size (Out). The bytes are those protobufjs' generated encoder
 * writes for the same fields: in field-number order, a field written when it is set
 * (even to its default), strings as protobufjs writes them.
 */
import protobuf from 'protobufjs';
import { FloeError } from '../errors.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import { PROTOCOL_VERSION } from './messages.ts';
import { stringBytes } from '../util/utf8.ts';

const utf8 = protobuf.util.utf8;

/** Strings from this length on are written by Buffer (as protobufjs' BufferWriter does). */
const SHORT_STRING_MAX = 39;

/** Byte arrays shorter than this are copied by a loop: TypedArray.set costs more for a few bytes. */
const SHORT_COPY_MAX = 8;

/** A buffer for an envelope whose body (the field with this tag) is `body` bytes long, its header written. */
export function startEnvelope(tag: number, body: number): Out {
  const w = new Out(Buffer.allocUnsafe(2 + messageField(body)));
  w.varint(8).varint(PROTOCOL_VERSION).varint(tag).varint(body);
  return w;
}

/** Bytes of fields 7-13 of a TaskSpec (serializer to resources), as writeSpecTail writes them. */
export function specTailSize(spec: TaskSpec): number {
  let n = 0;
  if (spec.serializer != null) n += messageField(serializerSize(spec.serializer));
  if (spec.priority != null) n += 9;
  if (spec.retries != null) n += 1 + varintSize(spec.retries >>> 0);
  if (spec.retryDelayMs != null) n += 9;
  if (spec.retryBackoff != null) n += 9;
  if (spec.timeoutMs != null) n += 9;
  for (const name in spec.resources) n += messageField(resourceSize(name, spec.resources[name]));
  return n;
}

export function specSize(spec: TaskSpec): number {
  let n = stringField(spec.key) + stringField(spec.name) + stringField(spec.module) + stringField(spec.exportName);
  if (spec.args != null) n += 1 + varintSize(spec.args.length) + spec.args.length;
  for (const dep of spec.deps) n += stringField(dep);
  n += specTailSize(spec);
  n += stringField(spec.traceParent) + stringField(spec.actor);
  if (spec.restartsMax != null) n += 2 + varintSize(spec.restartsMax >>> 0);
  if (spec.holdsActors != null) for (const id of spec.holdsActors) n += 1 + stringField(id);
  return n;
}

/** Fields 7-13 of a TaskSpec (serializer to resources), as writeSpec writes them. */
export function writeSpecTail(w: Out, spec: TaskSpec): void {
  if (spec.serializer != null) writeSerializer(w, 58, spec.serializer);
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
}

export function writeSpec(w: Out, spec: TaskSpec): void {
  if (spec.key != null) w.varint(10).string(spec.key);
  if (spec.name != null) w.varint(18).string(spec.name);
  if (spec.module != null) w.varint(26).string(spec.module);
  if (spec.exportName != null) w.varint(34).string(spec.exportName);
  if (spec.args != null) w.varint(42).bytes(spec.args);
  for (const dep of spec.deps) w.varint(50).string(dep);
  writeSpecTail(w, spec);
  if (spec.traceParent != null) w.varint(114).string(spec.traceParent);
  if (spec.actor != null) w.varint(122).string(spec.actor);
  if (spec.restartsMax != null) w.varint(128).varint(spec.restartsMax >>> 0);
  if (spec.holdsActors != null) for (const id of spec.holdsActors) w.varint(138).string(id);
}

/** Where a result is and how to read it: the same four fields in KeyUpdate, TaskFinished and DepLocation. */
export interface ResultRef {
  nbytes: number;
  serializer: SerializerRef;
  inline: Uint8Array | undefined;
}

/** Bytes of a ResultRef's fields: nbytes, serializer, inline, has_inline (always written). */
export function resultRefSize(r: ResultRef): number {
  let n = 2;
  if (r.nbytes != null) n += 1 + uint64Size(r.nbytes);
  if (r.serializer != null) n += messageField(serializerSize(r.serializer));
  if (r.inline != null) n += 1 + varintSize(r.inline.length) + r.inline.length;
  return n;
}

/** A ResultRef's fields, numbered `field` (nbytes) to `field + 3` (has_inline). */
export function writeResultRef(w: Out, field: number, r: ResultRef): void {
  if (r.nbytes != null) w.varint(field << 3).uint64(r.nbytes);
  if (r.serializer != null) writeSerializer(w, ((field + 1) << 3) | 2, r.serializer);
  if (r.inline != null) w.varint(((field + 2) << 3) | 2).bytes(r.inline);
  w.varint((field + 3) << 3).varint(r.inline !== undefined ? 1 : 0);
}

/** A SerializerRef sub-message under `tag`. */
export function writeSerializer(w: Out, tag: number, ref: SerializerRef): void {
  const { id, module } = ref;
  w.varint(tag).varint(serializerSize(ref));
  // serializerSize left the UTF-8 lengths of these very strings in lastIdBytes and lastModuleBytes.
  if (id != null) w.varint(10).stringOf(id, lastIdBytes);
  if (module != null) w.varint(18).stringOf(module, lastModuleBytes);
}

/**
 * The strings of the last SerializerRef sized, their UTF-8 lengths and its size. Nearly all
 * the results a worker reports (and the specs a client sends) name one serializer, whose
 * strings were otherwise measured three times per result: by resultRefSize, by
 * writeSerializer and by Out.string. Kept by the strings' values (not the ref object), so a
 * ref changed in place or another ref naming the same strings is still sized right.
 */
let lastId: string | undefined;
let lastModule: string | undefined;
let lastIdBytes = 0;
let lastModuleBytes = 0;
let lastSize = 0;

export function serializerSize(ref: SerializerRef): number {
  const { id, module } = ref;
  if (id !== lastId || module !== lastModule) {
    lastIdBytes = id == null ? 0 : stringBytes(id);
    lastModuleBytes = module == null ? 0 : stringBytes(module);
    lastSize = (id == null ? 0 : messageField(lastIdBytes)) + (module == null ? 0 : messageField(lastModuleBytes));
    lastId = id;
    lastModule = module;
  }
  return lastSize;
}

export function resourceSize(name: string, amount: number | undefined): number {
  return stringField(name) + (amount == null ? 0 : 9);
}


/** Bytes of a string field with a one-byte tag (0 when unset). */
export function stringField(value: string | undefined): number {
  if (value == null) return 0;
  const len = stringBytes(value);
  return 1 + varintSize(len) + len;
}

/** Bytes of a sub-message field with a one-byte tag. */
export function messageField(size: number): number {
  return 1 + varintSize(size) + size;
}


export function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Bytes of a uint64 varint (as protobufjs sizes one given a number). */
export function uint64Size(value: number): number {
  if (value >= 0 && value < 0x100000000) return varintSize(value >>> 0);
  const [lo, hi] = longBits(value);
  const part1 = ((lo >>> 28) | (hi << 4)) >>> 0;
  const part2 = hi >>> 24;
  if (part2 !== 0) return part2 < 128 ? 9 : 10;
  return part1 < 16384 ? (part1 < 128 ? 5 : 6) : part1 < 2097152 ? 7 : 8;
}

/**
 * Low and high words of a number as a 64-bit integer, as protobufjs' LongBits makes them
 * (a negative number in two's complement: ten bytes on the wire).
 */
function longBits(value: number): [number, number] {
  const abs = Math.abs(value);
  let lo = abs >>> 0;
  let hi = ((abs - lo) / 0x100000000) >>> 0;
  if (value < 0) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 0xffffffff) {
      lo = 0;
      if (++hi > 0xffffffff) hi = 0;
    }
  }
  return [lo, hi];
}

/** A cursor over the message's buffer. */
export class Out {
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

  /** A uint64 field's varint, as protobufjs writes one given a number (low and high words). */
  uint64(value: number): this {
    if (value >= 0 && value < 0x100000000) return this.varint(value);
    let [lo, hi] = longBits(value);
    // The high word's bits first, with the low word's (as protobufjs' writeVarint64), then the rest of the low word.
    while (hi !== 0) {
      this.buf[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    return this.varint(lo);
  }

  string(value: string): this {
    return this.stringOf(value, stringBytes(value));
  }

  /** A string whose UTF-8 length (stringBytes) is known already. */
  stringOf(value: string, len: number): this {
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

  /** Bytes already encoded (whole fields), copied as they are. */
  raw(value: Uint8Array): this {
    const n = value.length;
    if (n < SHORT_COPY_MAX) {
      const { buf, pos } = this;
      for (let i = 0; i < n; i++) buf[pos + i] = value[i]!;
    } else {
      this.buf.set(value, this.pos);
    }
    this.pos += n;
    return this;
  }

  bytes(value: Uint8Array): this {
    return this.varint(value.length).raw(value);
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
