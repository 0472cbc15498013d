/** Messages between a worker's main thread and one actor's thread (runtime/actor-thread.ts). */
import type { ThreadRequest, ThreadResponse } from './protocol.ts';

export type ActorThreadRequest =
  /** Construct the instance: module and exportName name the actorClass() export. */
  | { type: 'create'; callId: number; req: ThreadRequest }
  /** Call a method: exportName is the method's name. */
  | { type: 'call'; callId: number; req: ThreadRequest };

export interface ActorThreadReply {
  callId: number;
  response: ThreadResponse;
}
