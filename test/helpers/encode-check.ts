/** Checks for the hand-written encoders (worker-encode.ts, updates-encode.ts) against protobufjs. */
import type { Test } from 'tap';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireMessage } from '../../src/transport/messages.ts';

/** `mine` (the hand-written encoding of `msg`) is byte for byte `reference`, and encodeMessage uses it. */
export function sameAsProtobufjs(t: Test, msg: WireMessage, mine: Uint8Array, reference: Uint8Array): void {
  t.same(Buffer.from(mine), Buffer.from(reference), 'same bytes as protobufjs');
  t.same(Buffer.from(encodeMessage(msg)), Buffer.from(mine), 'encodeMessage uses it');
  t.same(decodeMessage(mine), decodeMessage(reference), 'decodes as protobufjs’ bytes do');
}
