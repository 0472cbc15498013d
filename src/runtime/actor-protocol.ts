/** Messages between a worker's main thread and one actor's thread (runtime/actor-thread.ts). */
import type { ThreadRequest, ThreadResponse } from './protocol.ts';

export type ActorThreadRequest =
  /**
   * Construct the instance: module and exportName name the actorClass() export. The
   * context of each request is virtual port `callId` on the thread's context port
   * (runtime/mux-port.ts), when `context` is set.
   */
  | { type: 'create'; callId: number; context: boolean; req: ThreadRequest }
  /** Call a method: exportName is the method's name. */
  | { type: 'call'; callId: number; context: boolean; req: ThreadRequest };

export interface ActorThreadReply {
  callId: number;
  response: ThreadResponse;
}
