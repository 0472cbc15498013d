/** Plain-data forms of the reliable link's wire messages (`floe.v1.Frame` / `floe.v1.Ack`). */

export interface WireFrame {
  /** Random per sending endpoint instance. */
  session: string;
  /** Per (session, destination subject); consecutive, starting anywhere above `acked`. */
  seq: number;
  /** Where the receiver sends its Acks. */
  ackSubject: string;
  payload: Uint8Array;
  /** Every seq <= acked was acknowledged by the receiver: a lower bound, 0 when none. */
  acked: number;
}

export interface WireAck {
  session: string;
  /** Cumulative: every seq <= this was delivered. */
  seq: number;
  /** The destination subject the acknowledged frames were sent to. */
  subject: string;
}
