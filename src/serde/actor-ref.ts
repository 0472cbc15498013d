/**
 * Actor handles as task arguments. A handle (client- or thread-side) carries the global
 * brand below and its actor's id; in arguments it travels as an {@link ActorRef}
 * (msgpack extension 'A') and becomes a working handle again where it is decoded.
 */
import { addExtension } from 'msgpackr';
import { FloeError } from '../errors.ts';

/** msgpack extension type of ActorRef ('A'). */
export const ACTOR_REF_EXT_TYPE = 0x41;

/** Global symbol on every actor handle: its value is the actor's id. */
export const ACTOR_HANDLE_ID = Symbol.for('floe.actorHandle');
const ACTOR_REF_BRAND = Symbol.for('floe.actorRef');

/** An actor handle in transit: the actor's id (the id of its creation task). */
export class ActorRef {
  declare readonly [ACTOR_REF_BRAND]: true;
  constructor(readonly actorId: string) {
    Object.defineProperty(this, ACTOR_REF_BRAND, { value: true });
  }
}

export function isActorRef(value: unknown): value is ActorRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ACTOR_REF_BRAND] === true;
}

/** The actor id of a handle, or undefined when `value` is not an actor handle. */
export function actorIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as Record<symbol, unknown>)[ACTOR_HANDLE_ID];
  return typeof id === 'string' ? id : undefined;
}

addExtension({
  Class: ActorRef,
  type: ACTOR_REF_EXT_TYPE,
  write(ref: ActorRef) {
    return ref.actorId;
  },
  read(data: unknown) {
    if (typeof data !== 'string' || data === '') {
      throw new FloeError('MALFORMED_MESSAGE', 'malformed actor reference in task arguments');
    }
    return new ActorRef(data);
  },
});
