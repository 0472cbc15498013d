/** Counters of one reliable endpoint, for status pages, logs and tests. */
export interface ReliableStats {
  /** Frames sent for the first time. */
  sent: number;
  /** Frames sent again (timer or reconnect). */
  retransmitted: number;
  /** Payloads handed to listeners. */
  delivered: number;
  /** Frames dropped because they were already delivered. */
  duplicates: number;
  /** Frames kept because an earlier one is missing (delivered once it arrives). */
  buffered: number;
  /** Frames dropped because an earlier one is missing and the reorder buffer is full (the sender goes back). */
  gaps: number;
  /** Frames or acks that could not be decoded. */
  malformed: number;
  acksSent: number;
  acksReceived: number;
  /** Sender sessions forgotten because a listener reached receiversMax. */
  evicted: number;
  /** Transport publishes that threw (the frame or ack goes out again later). */
  publishErrors: number;
  /** Listener handlers that threw (the payload still counts as delivered). */
  handlerErrors: number;
}

export function newStats(): ReliableStats {
  return {
    sent: 0,
    retransmitted: 0,
    delivered: 0,
    duplicates: 0,
    buffered: 0,
    gaps: 0,
    malformed: 0,
    acksSent: 0,
    acksReceived: 0,
    evicted: 0,
    publishErrors: 0,
    handlerErrors: 0,
  };
}
