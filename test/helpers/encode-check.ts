/** Checks for the hand-written encoders (worker-encode.ts, updates-encode.ts) against protobufjs. */
import type { Test } from 'tap';
import { toProtoBody } from '../../src/transport/codec-encode.ts';
import { decodeMessage, encodeMessage, protoRoot } from '../../src/transport/codec.ts';
import { PROTOCOL_VERSION, type WireMessage } from '../../src/transport/messages.ts';

/** `mine` (the hand-written encoding of `msg`) is byte for byte `reference`, and encodeMessage uses it. */
export function sameAsProtobufjs(t: Test, msg: WireMessage, mine: Uint8Array, reference: Uint8Array): void {
  t.same(Buffer.from(mine), Buffer.from(reference), 'same bytes as protobufjs');
  t.same(Buffer.from(encodeMessage(msg)), Buffer.from(mine), 'encodeMessage uses it');
  t.same(decodeMessage(mine), decodeMessage(reference), 'decodes as protobufjs’ bytes do');
}

/** A protobufjs type by its full name (what the hand-written encoders are given). */
export const lookup = (name: string) => protoRoot().lookupType(name);

/** `msg` as protobufjs' generated encoder writes it (the envelope field is named as the message type). */
export function reference(msg: WireMessage): Uint8Array {
  return lookup('floe.v1.Envelope').encode({ version: PROTOCOL_VERSION, [msg.type]: toProtoBody(msg) }).finish();
}
