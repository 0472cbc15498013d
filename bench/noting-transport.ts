/**
 * A client's transport that notes the requests it sends to one subject, with when each went
 * and when its answer came (bench/lag-timeline.ts: the pieces of a submission, on the
 * coordinator's submit subject). Everything else passes straight through.
 */
import type { RequestOptions, Transport, TransportMessage } from '../src/transport/transport.ts';
import { systemClock } from '../src/util/clock.ts';

/** A request sent, with when (epoch ms) it went and its answer came (NaN until then, or if it failed). */
export interface SentRequest {
  bytes: number;
  sentMs: number;
  answeredMs: number;
}

/** `transport`, noting in `sent` each request to `subject`. */
export function notingTransport(transport: Transport, subject: string, sent: SentRequest[]): Transport {
  return {
    publish: (s, data, headers) => transport.publish(s, data, headers),
    relay: (s, data, request) => transport.relay(s, data, request),
    subscribe: (s, handler) => transport.subscribe(s, handler),
    request: (s: string, data: Uint8Array, options: RequestOptions): Promise<TransportMessage> => {
      if (s !== subject) return transport.request(s, data, options);
      const req: SentRequest = { bytes: data.byteLength, sentMs: systemClock.now(), answeredMs: NaN };
      sent.push(req);
      const reply = transport.request(s, data, options);
      reply.then(() => (req.answeredMs = systemClock.now())).catch(() => undefined);
      return reply;
    },
    flush: () => transport.flush(),
    close: () => transport.close(),
    maxPayloadBytes: transport.maxPayloadBytes,
    onReconnect: (listener) => transport.onReconnect?.(listener),
  };
}
