/**
 * Codec of the reliable link's `Frame` and `Ack` (proto/floe.proto), written and read
 * straight from the bytes (proto-write.ts, proto-read.ts) as the per-task messages are:
 * every control message travels in a frame, so a frame costs what the envelope inside it
 * costs again if it goes through protobufjs (its writer's operation list, a decoded object
 * with strings decoded one character at a time from a Uint8Array). The bytes written are
 * those protobufjs writes for the same fields, and what is read is what protobufjs reads
 * (test/unit/reliable-codec.test.ts holds the two to it); a later field of the same number
 * wins, as protobuf merging says.
 */
import { FloeError } from '../../errors.ts';
import { MESSAGE_BYTES_MAX } from '../codec.ts';
import { NO_BYTES, nonEmpty } from '../decode-shared.ts';
import { asBuffer, ProtoReader, StringSlot } from '../proto-read.ts';
import { Out, stringField, uint64Size, varintSize } from '../proto-write.ts';
import type { WireAck, WireFrame } from './frames.ts';

// Tags, (field << 3) | wire type: Frame { session = 1; seq = 2; ack_subject = 3; payload = 4; acked = 5 }
const FRAME_SESSION = 10;
const FRAME_SEQ = 16;
const FRAME_ACK_SUBJECT = 26;
const FRAME_PAYLOAD = 34;
const FRAME_ACKED = 40;
// Ack { session = 1; seq = 2; subject = 3 }
const ACK_SESSION = 10;
const ACK_SEQ = 16;
const ACK_SUBJECT = 26;

// A receiver hears from a few senders, each always naming the same session and subject.
const SESSION = new StringSlot();
const SUBJECT = new StringSlot();

export function encodeFrame(frame: WireFrame): Uint8Array {
  const { session, seq, ackSubject, payload, acked } = frame;
  const size =
    stringField(session) + 1 + uint64Size(seq) + stringField(ackSubject) + 1 + varintSize(payload.length) + payload.length + 1 + uint64Size(acked);
  const w = new Out(Buffer.allocUnsafe(size));
  w.varint(FRAME_SESSION).string(session).varint(FRAME_SEQ).uint64(seq).varint(FRAME_ACK_SUBJECT).string(ackSubject);
  w.varint(FRAME_PAYLOAD).bytes(payload).varint(FRAME_ACKED).uint64(acked);
  return w.finish('frame');
}

/** Throws MALFORMED_MESSAGE for anything that is not a well-formed Frame. */
export function decodeFrame(bytes: Uint8Array): WireFrame {
  const r = reader(bytes, 'frame');
  let session = '';
  let seq = 0;
  let ackSubject = '';
  let payload: Uint8Array = NO_BYTES;
  let acked = 0;
  // A field cut short or of the wrong wire type throws MALFORMED_MESSAGE (proto-read.ts).
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case FRAME_SESSION: session = r.repeated(SESSION); break;
      case FRAME_SEQ: seq = r.uint64(); break;
      case FRAME_ACK_SUBJECT: ackSubject = r.repeated(SUBJECT); break;
      case FRAME_PAYLOAD: payload = r.bytes(); break;
      case FRAME_ACKED: acked = r.uint64(); break;
      default: r.unknown(tag, 5);
    }
  }
  checkSafe(seq, 'frame.seq');
  checkSafe(acked, 'frame.acked');
  if (seq < 1 || acked >= seq) {
    throw new FloeError('MALFORMED_MESSAGE', `frame has seq ${seq} and acked ${acked}; need 0 <= acked < seq`);
  }
  return { session: nonEmpty(session, 'frame.session'), seq, ackSubject: nonEmpty(ackSubject, 'frame.ackSubject'), payload, acked };
}

export function encodeAck(ack: WireAck): Uint8Array {
  const { session, seq, subject } = ack;
  const w = new Out(Buffer.allocUnsafe(stringField(session) + 1 + uint64Size(seq) + stringField(subject)));
  w.varint(ACK_SESSION).string(session).varint(ACK_SEQ).uint64(seq).varint(ACK_SUBJECT).string(subject);
  return w.finish('ack');
}

/** Throws MALFORMED_MESSAGE for anything that is not a well-formed Ack. */
export function decodeAck(bytes: Uint8Array): WireAck {
  const r = reader(bytes, 'ack');
  let session = '';
  let seq = 0;
  let subject = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case ACK_SESSION: session = r.repeated(SESSION); break;
      case ACK_SEQ: seq = r.uint64(); break;
      case ACK_SUBJECT: subject = r.repeated(SUBJECT); break;
      default: r.unknown(tag, 3);
    }
  }
  checkSafe(seq, 'ack.seq');
  return { session: nonEmpty(session, 'ack.session'), seq, subject: nonEmpty(subject, 'ack.subject') };
}

function reader(bytes: Uint8Array, what: string): ProtoReader {
  if (bytes.byteLength > MESSAGE_BYTES_MAX) {
    throw new FloeError('MALFORMED_MESSAGE', `${what} of ${bytes.byteLength} bytes exceeds ${MESSAGE_BYTES_MAX}`);
  }
  return new ProtoReader(asBuffer(bytes), 0, bytes.byteLength);
}

/** A uint64 read past 2^53 is rounded: refused, as no sequence number gets there. */
function checkSafe(n: number, field: string): void {
  if (!Number.isSafeInteger(n)) throw new FloeError('MALFORMED_MESSAGE', `${field} is not an integer below 2^53`);
}
