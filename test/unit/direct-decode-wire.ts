/**
 * For the direct-decoder tests: protobuf written by hand, and valid messages rewritten the
 * ways protobuf allows (fields in another order, a field sent twice, unknown fields of
 * every wire type, groups, longer varints), guided by protobufjs' reflection of
 * proto/floe.proto.
 */
import protobuf from 'protobufjs';
import { protoRoot } from '../../src/transport/codec.ts';
import type { Gen } from './direct-decode-gen.ts';

export const type = (name: string): protobuf.Type => protoRoot().lookupType(`floe.v1.${name}`);

/** A varint of `value` (a uint64, or a negative number as ten bytes), `size` bytes long at least (padded with continuation bytes). */
export function varint(value: number | bigint, size = 1): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 127n || out.length + 1 < size) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

export const tag = (field: number, wireType: number, size = 1): Buffer => varint(field * 8 + wireType, size);

export function lenField(field: number, payload: Uint8Array, lengthSize = 1): Buffer {
  return Buffer.concat([tag(field, 2), varint(payload.length, lengthSize), payload]);
}

export interface Field {
  field: number;
  wireType: number;
  /** The whole field, its tag included. */
  raw: Buffer;
  /** Length-delimited fields: the value. */
  payload: Buffer;
}

/** The fields of a message as the encoders write them (no groups). */
export function splitFields(bytes: Uint8Array): Field[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Field[] = [];
  let pos = 0;
  const read = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[pos++]!;
      value |= BigInt(b & 127) << shift;
      if (b < 128) return value;
    }
  };
  while (pos < buf.length) {
    const start = pos;
    const t = Number(read());
    const wireType = t & 7;
    let payload = buf.subarray(0, 0);
    if (wireType === 0) read();
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const len = Number(read());
      payload = buf.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`unexpected wire type ${wireType}`);
    out.push({ field: t >>> 3, wireType, raw: buf.subarray(start, pos), payload });
  }
  return out;
}

/** An unknown field (numbered past `fieldsMax`, or 0) of a random wire type, groups included. */
export function unknownField(g: Gen, fieldsMax: number, depth = 0): Buffer {
  const field = g.pick([0, fieldsMax + 1, fieldsMax + 1 + g.int(100), 2 ** 29 - 1]);
  switch (g.int(depth < 3 ? 5 : 4)) {
    case 0: return Buffer.concat([tag(field, 0), varint(g.int(2 ** 32), 1 + g.int(14))]); // longer than ten bytes too: skipped
    case 1: return Buffer.concat([tag(field, 1), Buffer.from(Float64Array.of(g.next()).buffer)]);
    case 2: return lenField(field, g.bytes());
    case 3: return Buffer.concat([tag(field, 5), Buffer.alloc(4, 0xee)]);
    default: {
      const inside = Array.from({ length: g.int(3) }, () => unknownField(g, fieldsMax, depth + 1));
      // The end-group tag need not name the group's field (protobufjs does not check).
      return Buffer.concat([tag(field, 3), ...inside, tag(g.pick([field, field + 1]), 4)]);
    }
  }
}

/** An other value of a field, of its wire type: what a first occurrence, replaced by the real one, may hold. */
function decoy(g: Gen, field: protobuf.Field, wireType: number): Buffer {
  const t = tag(field.id, wireType);
  if (wireType === 0) {
    // protobufjs reads a uint32 (bool, enum) of six to nine bytes as ten: not valid for it.
    const size = field.type === 'uint64' ? 1 + g.int(10) : g.pick([1, 2, 3, 4, 5, 10]);
    return Buffer.concat([t, varint(g.chance(0.3) ? -1 : g.int(2 ** 32), size)]);
  }
  if (wireType === 1) return Buffer.concat([t, Buffer.from(Float64Array.of(g.double()).buffer)]);
  // Strings may be invalid UTF-8 here; messages empty (a spec without its required fields)
  // or holding an unknown field.
  if (field.resolvedType instanceof protobuf.Type) return lenField(field.id, g.chance(0.5) ? Buffer.alloc(0) : unknownField(g, 30));
  return lenField(field.id, g.bytes());
}

/**
 * `payload`, a `messageType`, rewritten as protobuf allows (and protobufjs reads it):
 * fields shuffled (those of one number kept in order), non-repeated fields preceded by
 * another value, unknown fields added, varints and lengths padded; its sub-messages
 * likewise.
 */
export function scramble(g: Gen, messageType: protobuf.Type, payload: Uint8Array): Buffer {
  const queues = new Map<number, Buffer[]>();
  const add = (field: number, raw: Buffer): void => {
    const queue = queues.get(field) ?? [];
    queue.push(raw);
    queues.set(field, queue);
  };
  const fieldsMax = Math.max(...messageType.fieldsArray.map((f) => f.id));
  for (const f of splitFields(payload)) {
    const field = messageType.fieldsById[f.field];
    if (field === undefined) throw new Error(`unknown field ${f.field} in ${messageType.name}`);
    if (!field.repeated && g.chance(0.2)) add(f.field, decoy(g, field, f.wireType));
    if (f.wireType === 2) {
      const sub = field.resolvedType instanceof protobuf.Type ? scramble(g, field.resolvedType, f.payload) : f.payload;
      add(f.field, lenField(f.field, sub, g.chance(0.1) ? 1 + g.int(5) : 1));
    } else if (f.wireType === 0 && g.chance(0.2)) {
      // The same value in a longer varint: up to five bytes reads the same as uint32, up to ten as uint64.
      const value = splitValue(f.raw);
      const size = field.type === 'uint64' ? 1 + g.int(10) : 1 + g.int(5);
      add(f.field, Buffer.concat([tag(f.field, 0), varint(value, size)]));
    } else {
      add(f.field, f.raw);
    }
  }
  for (let i = g.int(3); i > 0; i--) add(-i, unknownField(g, fieldsMax));
  const out: Buffer[] = [];
  const live = [...queues.values()];
  while (live.length > 0) {
    const i = g.int(live.length);
    out.push(live[i]!.shift()!);
    if (live[i]!.length === 0) live.splice(i, 1);
  }
  return Buffer.concat(out);
}

/** The value of a varint field (its tag skipped). */
function splitValue(raw: Buffer): bigint {
  let pos = 0;
  while (raw[pos++]! & 128);
  let value = 0n;
  for (let shift = 0n; pos < raw.length; shift += 7n) value |= BigInt(raw[pos++]! & 127) << shift;
  return value;
}

/** An envelope of version 1 around `body` (envelope field `field`), with unknown fields around it now and then. */
export function envelope(g: Gen, field: number, body: Uint8Array): Buffer {
  const parts = [Buffer.from([8, 1]), lenField(field, body, g.chance(0.1) ? 3 : 1)];
  if (g.chance(0.3)) parts.reverse();
  if (g.chance(0.3)) parts.splice(g.int(parts.length + 1), 0, unknownField(g, 22));
  return Buffer.concat(parts);
}
