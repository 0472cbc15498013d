/**
 * Reliable payloads handed to code written for TransportMessage (no reply possible).
 */
import type { TransportMessage } from './transport.ts';

export function oneWayMessage(subject: string, data: Uint8Array): TransportMessage {
  return { subject, data, headers: undefined, expectsReply: false, replyTo: undefined, respond: () => undefined };
}
