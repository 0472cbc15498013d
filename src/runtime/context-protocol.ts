/**
 * Messages between a running task (in a pool thread, an actor thread or inline) and its
 * worker's main thread, over a MessagePort made for that run. They carry what a task's
 * context does: submit subtasks and actor calls, fetch results, release them, and say
 * when the task waits (secede) and stops waiting (rejoin).
 *
 * Submissions are one-way: the task names the key itself, so it never waits for them;
 * a submission that fails is reported when the result of that key is asked for.
 */
import type { ErrorInfo } from '../errors.ts';
import type { TaskOptions } from '../graph/options.ts';
import type { SerializerRef } from '../graph/spec.ts';

/** Task options a thread can send (a custom serializer travels as its id and module). */
export type WireTaskOptions = Omit<TaskOptions, 'serializer'> & { serializer?: string | { id: string; moduleUrl: string } };

export type ContextRequest =
  | {
      type: 'submit';
      key: string;
      module: string;
      exportName: string;
      options: WireTaskOptions;
      /** Arguments encoded by serde/args.ts; refs name keys this run submitted. */
      args: Uint8Array;
    }
  | { type: 'actorCall'; key: string; actorId: string; method: string; args: Uint8Array }
  | { type: 'result'; requestId: number; key: string }
  | { type: 'release'; keys: string[] }
  /** true: the task waits on results (its slot is free); false: it runs again. */
  | { type: 'slot'; seceded: boolean };

export type ContextReply =
  | { type: 'result'; requestId: number; ok: true; bytes: Uint8Array; serializer: SerializerRef }
  | { type: 'result'; requestId: number; ok: false; error: ErrorInfo };
