/**
 * A msgpack writer for flat task arguments (args.ts encodeFlatArgs): an array of nulls,
 * booleans, numbers, strings and future refs, or arrays of those. It writes what any
 * msgpack reader decodes to the same values as msgpackr's encoding of them, with a ref as
 * the FutureRef extension writes it (a one-byte tag extension, then `[key, path]`), without
 * msgpackr's work per call: on the client's submit loop, msgpackr's pack of such arguments
 * took a fifth of the loop's time.
 *
 * Anything else (undefined, a bigint, a ref to part of a result) makes it give up
 * (undefined), and the caller packs with msgpackr, which knows every type.
 *
 * The bytes are a view into a shared buffer that later writes never go back over (a new
 * buffer is started when one is full), as msgpackr's pack gives.
 *
 * Measured (2026-12-07, `encodeArgs` alone, 1,000 calls per sample, five alternated pairs of
 * processes): a chain task's arguments (`[[future]]`) 240–550 ns against 363–746 through
 * msgpackr, a root's (`[[]]`) 110–223 against 171–374; mixed primitives about the same.
 */
import { stringBytes } from '../util/utf8.ts';

/** The key of a ref to a whole result, or undefined for any other object. */
export type WholeRefKey = (value: object) => string | undefined;

/** msgpack extension type of FutureRef ('F'; args.ts registers it with msgpackr, whose own types do not use it). */
export const FUTURE_REF_EXT_TYPE = 0x46;

/** Size of each buffer that writes share. */
const BUFFER_BYTES = 64 * 1024;

let buffer = new Uint8Array(BUFFER_BYTES);
let view = new DataView(buffer.buffer);
/** Where the next write starts in `buffer`. */
let start = 0;
/** Where the write under way is. */
let pos = 0;

/** Writes `walked` (the flat walk's output); undefined when it holds anything but the types above. */
export function writeFlat(walked: readonly unknown[], refKey: WholeRefKey): Uint8Array | undefined {
  pos = start;
  if (!arrayHeader(walked.length)) return undefined;
  for (let i = 0; i < walked.length; i++) {
    const value = walked[i];
    if (Array.isArray(value)) {
      if (!arrayHeader(value.length)) return undefined;
      for (let j = 0; j < value.length; j++) if (!writeValue(value[j], refKey)) return undefined;
    } else if (!writeValue(value, refKey)) {
      return undefined;
    }
  }
  // A view made by the constructor: subarray's species lookup cost more than the write.
  const bytes = new Uint8Array(buffer.buffer, start, pos - start);
  start = pos;
  return bytes;
}

/**
 * Makes sure `bytes` more fit after `pos`: a write that does not fit the rest of the
 * buffer goes on in a new one, taking what it has written so far along. False: more than
 * half a buffer is asked for, left to msgpackr.
 */
function room(bytes: number): boolean {
  if (pos + bytes <= buffer.byteLength) return true;
  const written = buffer.subarray(start, pos);
  if (written.byteLength + bytes > BUFFER_BYTES / 2) return false;
  buffer = new Uint8Array(BUFFER_BYTES);
  view = new DataView(buffer.buffer);
  buffer.set(written, 0);
  pos = written.byteLength;
  start = 0;
  return true;
}

/** Room for the widest fixed-size item: a type byte and 8 bytes of a double. */
const ITEM_BYTES_MAX = 9;

function arrayHeader(length: number): boolean {
  if (!room(3)) return false;
  if (length < 16) {
    buffer[pos++] = 0x90 | length;
  } else if (length < 0x10000) {
    buffer[pos++] = 0xdc;
    view.setUint16(pos, length);
    pos += 2;
  } else {
    return false;
  }
  return true;
}

function writeValue(value: unknown, refKey: WholeRefKey): boolean {
  if (!room(ITEM_BYTES_MAX)) return false;
  switch (typeof value) {
    case 'number':
      writeNumber(value);
      return true;
    case 'string':
      return writeString(value);
    case 'boolean':
      buffer[pos++] = value ? 0xc3 : 0xc2;
      return true;
    case 'object':
      if (value === null) {
        buffer[pos++] = 0xc0;
        return true;
      }
      return writeRef(value, refKey);
    default:
      return false;
  }
}

/**
 * As msgpackr writes it: positive fixints only below 0x40 (msgpackr's records take
 * 0x40–0x7f), -0 as 0, and every number that is not a 32-bit integer as a double.
 */
function writeNumber(n: number): void {
  if (n >>> 0 === n) {
    if (n < 0x40) {
      buffer[pos++] = n;
    } else if (n < 0x100) {
      buffer[pos++] = 0xcc;
      buffer[pos++] = n;
    } else if (n < 0x10000) {
      buffer[pos++] = 0xcd;
      view.setUint16(pos, n);
      pos += 2;
    } else {
      buffer[pos++] = 0xce;
      view.setUint32(pos, n);
      pos += 4;
    }
  } else if (n >> 0 === n) {
    if (n >= -0x20) {
      buffer[pos++] = n & 0xff;
    } else if (n >= -0x80) {
      buffer[pos++] = 0xd0;
      view.setInt8(pos, n);
      pos += 1;
    } else if (n >= -0x8000) {
      buffer[pos++] = 0xd1;
      view.setInt16(pos, n);
      pos += 2;
    } else {
      buffer[pos++] = 0xd2;
      view.setInt32(pos, n);
      pos += 4;
    }
  } else {
    buffer[pos++] = 0xcb;
    view.setFloat64(pos, n);
    pos += 8;
  }
}

/** Longest string written here (in UTF-16 units, up to 3 bytes each, so it fits half a buffer): longer ones go to msgpackr. */
const STRING_UNITS_MAX = 4096;

function writeString(s: string): boolean {
  if (s.length > STRING_UNITS_MAX) return false;
  const bytes = stringBytes(s);
  if (!room(3 + bytes)) return false;
  stringHeader(bytes);
  if (bytes === s.length) {
    for (let i = 0; i < bytes; i++) buffer[pos++] = s.charCodeAt(i);
  } else {
    pos += encoder.encodeInto(s, buffer.subarray(pos, pos + bytes)).written;
  }
  return true;
}

const encoder = new TextEncoder();

function stringHeader(bytes: number): void {
  if (bytes < 32) {
    buffer[pos++] = 0xa0 | bytes;
  } else if (bytes < 0x100) {
    buffer[pos++] = 0xd9;
    buffer[pos++] = bytes;
  } else {
    buffer[pos++] = 0xda;
    view.setUint16(pos, bytes);
    pos += 2;
  }
}

/**
 * A future ref to a whole result: the extension's one-byte tag, then `[key, []]` (what
 * msgpackr writes for an extension with a `write` function).
 */
function writeRef(value: object, refKey: WholeRefKey): boolean {
  const key = refKey(value);
  if (key === undefined) return false;
  buffer[pos++] = 0xd4;
  buffer[pos++] = FUTURE_REF_EXT_TYPE;
  buffer[pos++] = 0;
  buffer[pos++] = 0x92;
  if (!writeString(key) || !room(1)) return false;
  buffer[pos++] = 0x90;
  return true;
}
