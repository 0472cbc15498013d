/**
 * The brand and shape of an actor class definition, in a file with no runtime imports so
 * that actor threads can recognise one without loading the client.
 */
import type { TaskOptions } from '../graph/options.ts';

/** Global symbol: survives duplicate copies of floe (src vs dist) and realms. */
export const ACTOR_CLASS_BRAND = Symbol.for('floe.actorClass');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ActorConstructor = abstract new (...args: any[]) => object;

/** Options of an actor class (validated by actorClass()). */
export interface ActorOptions {
  /** What the hosting worker must have, e.g. `{ gpu: 1 }`. Default `{}`. */
  resources?: TaskOptions['resources'];
  /**
   * Times the actor is re-created (fresh state, constructor run again) on another worker
   * after its worker is lost. Calls running at the loss fail with ACTOR_LOST. Default 0.
   */
  maxRestarts?: number;
  /** Method calls that may run at once (async methods interleave at awaits). Default 1. */
  concurrency?: number;
  /** Name used in keys and logs. Default: the class name. */
  name?: string;
}

export interface ActorClassDef<C extends ActorConstructor> {
  readonly [ACTOR_CLASS_BRAND]: true;
  /** URL of the module that defines (and exports) the actor class. */
  readonly moduleUrl: string;
  readonly cls: C;
  readonly options: Readonly<ActorOptions>;
}

export function isActorClassDef(value: unknown): value is ActorClassDef<ActorConstructor> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ACTOR_CLASS_BRAND] === true;
}
