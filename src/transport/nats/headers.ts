/**
 * floe headers (`Record<string, string>`) to and from NATS headers, plus the encoded
 * size, so the payload limit can be checked before nats.js sees the message.
 */
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { Headers } from '../transport.ts';

/** `NATS/1.0\r\n` ... `\r\n`: the fixed part of an encoded header block. */
const HEADER_FRAMING_BYTES = 'NATS/1.0\r\n'.length + 2;

/**
 * Keys keep their case (exact match). nats.js trims values and rejects keys that are
 * not header tokens or values with CR/LF (the caller maps that to INVALID_ARGUMENT).
 */
export function toNatsHeaders(headers: Headers | undefined): MsgHdrs | undefined {
  if (headers === undefined) return undefined;
  const keys = Object.keys(headers);
  if (keys.length === 0) return undefined;
  const out = natsHeaders();
  for (const key of keys) out.set(key, headers[key] ?? '');
  return out;
}

/** A header with several values keeps the first, like the in-process bus would have. */
export function fromNatsHeaders(headers: MsgHdrs | undefined): Headers | undefined {
  if (headers === undefined) return undefined;
  const out: Headers = {};
  let any = false;
  for (const [key, values] of headers) {
    const first = values[0];
    if (first === undefined) continue;
    out[key] = first;
    any = true;
  }
  return any ? out : undefined;
}

/** Bytes the header block takes on the wire (counts towards the server's max_payload). */
export function encodedHeaderBytes(headers: Headers | undefined): number {
  if (headers === undefined) return 0;
  const keys = Object.keys(headers);
  if (keys.length === 0) return 0;
  let bytes = HEADER_FRAMING_BYTES;
  for (const key of keys) {
    // `key: value\r\n`
    bytes += Buffer.byteLength(key) + 2 + Buffer.byteLength((headers[key] ?? '').trim()) + 2;
  }
  return bytes;
}
