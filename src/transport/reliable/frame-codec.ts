/**
 * Codec of the reliable link's `Frame` and `Ack` (proto/floe.proto). Decoding reads the
 * decoded message's fields directly (no `toObject` pass): frames are on the hot path,
 * one per control message.
 */
import type protobuf from 'protobufjs';
import { FloeError } from '../../errors.ts';
import { nonEmpty } from '../codec-decode.ts';
import { MESSAGE_BYTES_MAX, protoRoot } from '../codec.ts';
import type { WireAck, WireFrame } from './frames.ts';

type Obj = Record<string, unknown>;


let frameType: protobuf.Type | undefined;
let ackType: protobuf.Type | undefined;
function frameProto(): protobuf.Type {
  frameType ??= protoRoot().lookupType('floe.v1.Frame');
  return frameType;
}
function ackProto(): protobuf.Type {
  ackType ??= protoRoot().lookupType('floe.v1.Ack');
  return ackType;
}

export function encodeFrame(frame: WireFrame): Uint8Array {
  return frameProto().encode(frame).finish();
}

/** Throws MALFORMED_MESSAGE for anything that is not a well-formed Frame. */
export function decodeFrame(bytes: Uint8Array): WireFrame {
  const m = decodeRaw(frameProto(), bytes, 'frame');
  const seq = uint64(m.seq, 'frame.seq');
  const acked = uint64(m.acked, 'frame.acked');
  if (seq < 1 || acked >= seq) {
    throw new FloeError('MALFORMED_MESSAGE', `frame has seq ${seq} and acked ${acked}; need 0 <= acked < seq`);
  }
  return {
    session: nonEmpty(m.session, 'frame.session'),
    seq,
    ackSubject: nonEmpty(m.ackSubject, 'frame.ackSubject'),
    payload: m.payload instanceof Uint8Array ? m.payload : new Uint8Array(0),
    acked,
  };
}

export function encodeAck(ack: WireAck): Uint8Array {
  return ackProto().encode(ack).finish();
}

/** Throws MALFORMED_MESSAGE for anything that is not a well-formed Ack. */
export function decodeAck(bytes: Uint8Array): WireAck {
  const m = decodeRaw(ackProto(), bytes, 'ack');
  return {
    session: nonEmpty(m.session, 'ack.session'),
    seq: uint64(m.seq, 'ack.seq'),
    subject: nonEmpty(m.subject, 'ack.subject'),
  };
}

function decodeRaw(type: protobuf.Type, bytes: Uint8Array, what: string): Obj {
  if (bytes.byteLength > MESSAGE_BYTES_MAX) {
    throw new FloeError('MALFORMED_MESSAGE', `${what} of ${bytes.byteLength} bytes exceeds ${MESSAGE_BYTES_MAX}`);
  }
  try {
    return type.decode(bytes) as unknown as Obj;
  } catch (error) {
    throw new FloeError('MALFORMED_MESSAGE', `cannot decode ${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** A uint64 as decoded by protobufjs (a number, or a Long since long.js is installed) -> a safe integer. */
function uint64(v: unknown, field: string): number {
  let n = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'object' && v !== null && 'high' in v && 'low' in v) {
    const { high, low } = v as { high: number; low: number };
    n = (high >>> 0) * 2 ** 32 + (low >>> 0);
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new FloeError('MALFORMED_MESSAGE', `${field} is not an integer below 2^53`);
  return n;
}
