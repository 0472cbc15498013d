/**
 * Reading protobuf straight from a message's bytes, for the control messages received per
 * task (submit-decode.ts, worker-decode.ts, events-decode.ts, updates-decode.ts): the
 * mirror of proto-write.ts. The direct decoders read each field once and build the
 * WireMessage as they go, where protobufjs decodes into objects first (with a `Long` per
 * uint64 field) that codec-decode.ts then converts.
 *
 * Every value reads as protobufjs 7's Reader reads it (numbers included: a uint32 is the
 * low 32 bits of its varint, a uint64 is lo + hi * 2^32 as LongBits.toNumber(true) gives
 * it), and whatever protobufjs rejects is rejected here too, as MALFORMED_MESSAGE: a read
 * past the end of the enclosing message, a bad wire type, groups nested too deep. This
 * reader is stricter in three places protobufjs lets pass: a known field with the wrong
 * wire type (protobufjs reads it as its declared type regardless), a string longer than
 * what is left of its message (protobufjs cuts it short), and a uint64 varint cut off
 * right at the end of its message (protobufjs returns its first four bytes).
 */
import { FloeError } from '../errors.ts';
import { PROTOCOL_VERSION } from './messages.ts';

/** Wire types (the low three bits of a tag). */
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const GROUP_START = 3;
const FIXED32 = 5;

/** protobufjs' util.recursionLimit: how deep groups may nest, counting the messages around them. */
const NESTING_MAX = 100;

const TWO_POW_32 = 0x100000000;

/** Buffer's own UTF-8 decoder without toString's argument checks (protobufjs' BufferReader calls it too). */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}

/**
 * The same bytes as a Buffer (a view, not a copy), for ProtoReader: it decodes strings with
 * Node's native decoder. protobufjs too reads a Buffer that way, and any other Uint8Array
 * (what NATS and the reliable link hand over) with its own decoder in JavaScript, one
 * character at a time: a 1,000-task submission decoded in 3.6 µs per task as a Uint8Array
 * and 2.3 as a Buffer.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function malformed(what: string): FloeError {
  return new FloeError('MALFORMED_MESSAGE', `cannot decode control message: ${what}`);
}

/** Longer strings than this are decoded each time (module URLs and addresses are shorter). */
const SLOT_BYTES_MAX = 256;

/** The last string read in one place (see ProtoReader.repeated), kept as its bytes (a copy: no message is held on to). */
export class StringSlot {
  readonly bytes = new Uint8Array(SLOT_BYTES_MAX);
  length = -1;
  value = '';

  /** `made` turns a newly decoded string into the one to give (e.g. interns it). */
  constructor(readonly made: (s: string) => string = (s) => s) {}
}

/** Where a string read from a message lies in it, and the string (ProtoReader.stringMarked). */
export class MarkedString {
  start = 0;
  end = 0;
  value = '';
}

/**
 * The name of the item being read and of the one read before it in the same message (a
 * spec's key, an assignment's id): a chain's task names the task before it as its input,
 * and readers take that name as the same string (ProtoReader.stringAsMarked).
 */
export class MarkedPair {
  /** The item read before this one. */
  previous = new MarkedString();
  /** The item being read. */
  current = new MarkedString();

  /** The item is read: it becomes the previous one for the next. */
  next(): void {
    const previous = this.previous;
    this.previous = this.current;
    this.current = previous;
  }
}

/** Whether `len` bytes of `a` from `aStart` are those of `b` from `bStart`. */
function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, len: number): boolean {
  let i = 0;
  while (i < len && a[aStart + i] === b[bStart + i]) i++;
  return i === len;
}

/** A cursor over one message's bytes; `end` is the end of the (sub-)message being read. */
export class ProtoReader {
  /** Messages around the one being read (the envelope is 0), as protobufjs counts them for its nesting limit. */
  depth = 0;
  /** Specs' keys (spec-read.ts) and assignments' ids (worker-decode.ts), this one's and the one before. */
  readonly keys = new MarkedPair();
  readonly ids = new MarkedPair();

  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  /**
   * A varint read as protobufjs' `uint32()` reads it: its low 32 bits. Past five bytes
   * protobufjs skips five more without looking at them (a negative int32 is ten bytes).
   */
  uint32(): number {
    const { buf, end } = this;
    let pos = this.pos;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw malformed('truncated varint');
      const b = buf[pos++]!;
      value |= (b & 127) << shift;
      if (b < 128) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    if (pos >= end) throw malformed('truncated varint');
    const b = buf[pos++]!;
    value = (value | ((b & 15) << 28)) >>> 0;
    if (b >= 128 && (pos += 5) > end) throw malformed('truncated varint');
    this.pos = pos;
    return value;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** A uint64 varint as a number (above 2^53 it is rounded, as protobufjs' toNumber rounds it). */
  uint64(): number {
    const { buf, end } = this;
    let pos = this.pos;
    let lo = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw malformed('truncated varint');
      const b = buf[pos++]!;
      lo |= (b & 127) << shift;
      if (b < 128) {
        this.pos = pos;
        return lo >>> 0;
      }
    }
    if (pos >= end) throw malformed('truncated varint');
    let b = buf[pos++]!;
    lo |= (b & 127) << 28;
    let hi = (b & 127) >> 4;
    for (let shift = 3; b >= 128; shift += 7) {
      if (shift > 31) throw malformed('varint longer than ten bytes');
      if (pos >= end) throw malformed('truncated varint');
      b = buf[pos++]!;
      hi |= (b & 127) << shift;
    }
    this.pos = pos;
    return (lo >>> 0) + (hi >>> 0) * TWO_POW_32;
  }

  double(): number {
    const { buf, pos } = this;
    if (pos + 8 > this.end) throw malformed('truncated double');
    this.pos = pos + 8;
    // Most doubles of a spec are 0 (no priority, delay or timeout): eight zero bytes, +0.
    const low = buf[pos]! | buf[pos + 1]! | buf[pos + 2]! | buf[pos + 3]!;
    if ((low | buf[pos + 4]! | buf[pos + 5]! | buf[pos + 6]! | buf[pos + 7]!) === 0) return 0;
    return buf.readDoubleLE(pos);
  }

  string(): string {
    const start = this.start();
    return start === this.pos ? '' : (this.buf as unknown as Utf8Slicing).utf8Slice(start, this.pos);
  }

  /** A string, with where it lies in the message kept in `mark` (for stringAsMarked). */
  stringMarked(mark: MarkedString): string {
    const start = this.start();
    const value = start === this.pos ? '' : (this.buf as unknown as Utf8Slicing).utf8Slice(start, this.pos);
    mark.start = start;
    mark.end = this.pos;
    mark.value = value;
    return value;
  }

  /**
   * A string that is often one read before from this message (`mark`): when its bytes are
   * the same, the same string, not decoded again. A map that has it as a key then finds it
   * without hashing it again or comparing it character by character.
   */
  stringAsMarked(mark: MarkedString): string {
    const start = this.start();
    const { buf, pos } = this;
    const len = pos - start;
    if (len > 0 && len === mark.end - mark.start && sameBytes(buf, start, buf, mark.start, len)) return mark.value;
    return len === 0 ? '' : (buf as unknown as Utf8Slicing).utf8Slice(start, pos);
  }

  /**
   * A string that is mostly the one this slot read last (a spec's module, a holder's
   * address): compared as bytes, and decoded only when it differs. Decoding a string is a
   * call into Node (about 0.1 µs), several per task.
   */
  repeated(slot: StringSlot): string {
    const start = this.start();
    const { buf, pos } = this;
    const len = pos - start;
    if (len === 0) return '';
    const last = slot.bytes;
    if (len === slot.length && sameBytes(buf, start, last, 0, len)) return slot.value;
    const value = slot.made((buf as unknown as Utf8Slicing).utf8Slice(start, pos));
    if (len <= last.length) {
      for (let i = 0; i < len; i++) last[i] = buf[start + i]!;
      slot.length = len;
      slot.value = value;
    }
    return value;
  }

  /** A bytes field: a view into the message, as protobufjs gives one (a new empty Buffer when empty, like protobufjs). */
  bytes(): Buffer {
    const start = this.start();
    return start === this.pos ? Buffer.alloc(0) : this.buf.subarray(start, this.pos);
  }

  /**
   * Enters the length-delimited sub-message at the cursor: reads until `end` is its end.
   * Returns the enclosing message's end, for `leave`.
   */
  enter(): number {
    const outer = this.end;
    const start = this.start();
    this.end = this.pos;
    this.pos = start;
    this.depth++;
    return outer;
  }

  /** Back to the enclosing message (the sub-message was read to its end). */
  leave(outer: number): void {
    this.end = outer;
    this.depth--;
  }

  /**
   * A field this message does not know (skipped, as protobufjs skips it), or a known one
   * (numbered 1 to `fieldsMax`) of the wrong wire type: that is malformed.
   */
  unknown(tag: number, fieldsMax: number): void {
    const field = tag >>> 3;
    if (field >= 1 && field <= fieldsMax) throw malformed(`field ${field} has wire type ${tag & 7}`);
    this.skip(tag & 7, this.depth);
  }

  /** Start of a length-delimited value; leaves the cursor at its end. */
  private start(): number {
    const len = this.uint32();
    const start = this.pos;
    if (len > this.end - start) throw malformed('length past the end of the message');
    this.pos = start + len;
    return start;
  }

  /** protobufjs' Reader.skipType: a varint of any length, groups to their end-group tag (of any field). */
  private skip(wireType: number, depth: number): void {
    if (depth > NESTING_MAX) throw malformed('groups nested too deep');
    switch (wireType) {
      case VARINT:
        do {
          if (this.pos >= this.end) throw malformed('truncated varint');
        } while (this.buf[this.pos++]! & 128);
        return;
      case FIXED64:
        return this.skipBytes(8);
      case LEN:
        return this.skipBytes(this.uint32());
      case GROUP_START:
        for (let t = this.uint32() & 7; t !== 4; t = this.uint32() & 7) this.skip(t, depth + 1);
        return;
      case FIXED32:
        return this.skipBytes(4);
      default:
        throw malformed(`invalid wire type ${wireType}`);
    }
  }

  private skipBytes(n: number): void {
    if (n > this.end - this.pos) throw malformed('length past the end of the message');
    this.pos += n;
  }
}

/** Envelope fields: the version, and the first and last of the body's (the oneof). */
const ENVELOPE_VERSION = 1;
const BODY_FIRST = 10;
const BODY_LAST = 22;

/**
 * The envelope's body field number, with a reader over the body, when the envelope is
 * plain: this protocol version, and one body field, length-delimited. Anything else
 * (another version, no body or several, a body of the wrong wire type, an envelope that
 * does not parse) is undefined: codec.ts leaves it to protobufjs, whose answer (the body
 * it picks among several, or the error) is then the one given.
 */
export function plainEnvelopeBody(buf: Buffer): { field: number; reader: ProtoReader } | undefined {
  const r = new ProtoReader(buf, 0, buf.length);
  let version = 0;
  let field = 0;
  let start = 0;
  let end = 0;
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      const number = tag >>> 3;
      if (tag === (ENVELOPE_VERSION << 3) + VARINT) {
        version = r.uint32();
      } else if (number >= BODY_FIRST && number <= BODY_LAST) {
        if (field !== 0 || (tag & 7) !== LEN) return undefined;
        field = number;
        const outer = r.enter();
        start = r.pos;
        end = r.end;
        r.pos = end;
        r.leave(outer);
      } else {
        r.unknown(tag, ENVELOPE_VERSION);
      }
    }
  } catch {
    return undefined;
  }
  if (version !== PROTOCOL_VERSION || field === 0) return undefined;
  const body = new ProtoReader(buf, start, end);
  body.depth = 1;
  return { field, reader: body };
}
