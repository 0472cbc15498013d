/**
 * Payloads that did not come as requests of the transport, handed to code written for
 * TransportMessage: reliable payloads (no reply possible), and requests passed on another
 * way with the subject their answer goes to.
 */
import type { Transport, TransportMessage } from './transport.ts';

export function oneWayMessage(subject: string, data: Uint8Array): TransportMessage {
  return { subject, data, headers: undefined, expectsReply: false, replyTo: undefined, respond: () => undefined };
}

/**
 * A request that came another way (a direct stream, a worker's report), answered by a
 * publish to `replyTo` on `transport`. An answer that cannot be sent goes to `failed`
 * (the requester's own timeout then takes over), never to the handler's caller.
 */
export function passedOnRequest(
  transport: Transport,
  subject: string,
  data: Uint8Array,
  replyTo: string,
  failed: (err: unknown) => void,
): TransportMessage {
  const respond = (reply: Uint8Array): void => {
    try {
      transport.publish(replyTo, reply);
    } catch (err) {
      failed(err);
    }
  };
  return { subject, data, headers: undefined, expectsReply: true, replyTo, respond };
}
