/**
 * The actors living on one worker: each instance has a thread of its own (not a pool
 * thread: an actor's state must stay in one place, and a long method must not hold a
 * pool slot), started by its creation task and ended when the scheduler releases the
 * creation's result, when the worker registers again, or when it closes.
 *
 * Calls start in the order the worker state machine starts them (call order); loading a
 * call's inputs before `run()` is async, so each takes a {@link Turn} when it starts and
 * enters its actor's queue only after the calls that started before it. Here at most `concurrency` of them (the actor's option, default 1) run at once, the rest
 * wait in order. A call cancelled before it starts never runs; one already running cannot
 * be interrupted, its result is dropped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { FloeError } from '../errors.ts';
import { decodeArgs } from '../serde/args.ts';
import type { ActorThreadReply, ActorThreadRequest } from '../runtime/actor-protocol.ts';
import { nowMs } from '../runtime/protocol.ts';
import type { ThreadRequest, ThreadResponse } from '../runtime/protocol.ts';
import { packageRoot } from '../util/package-root.ts';
import { errorResponse, type RunOptions } from './executor.ts';
import { MuxEndpoint, type ContextPort } from '../runtime/mux-port.ts';

/** Path of the compiled actor thread entry inside the floe package. */
export function actorThreadPath(): string {
  return join(packageRoot(), 'dist', 'src', 'runtime', 'actor-thread.js');
}

interface Job {
  readonly callId: number;
  readonly msg: ActorThreadRequest;
  readonly startedAtMs: number;
  settle(response: ThreadResponse): void;
}

interface Actor {
  readonly id: string;
  readonly thread: Worker;
  /** The calls' context channels, multiplexed on one port (runtime/mux-port.ts). */
  readonly contexts: MuxEndpoint;
  concurrency: number;
  created: boolean;
  running: Map<number, Job>;
  queue: Job[];
  /** Set once the actor is gone: every call fails with it. */
  lost: FloeError | undefined;
}

/** A call's place in its actor's order (see {@link ActorHost.turn}). */
export interface Turn {
  /** Resolves once the call before it has entered the actor's queue (or gave up). */
  readonly before: Promise<void> | undefined;
  /** Lets the next call in; idempotent. run() calls it, a call that stops before must. */
  release(): void;
}

export class ActorHost {
  readonly #actors = new Map<string, Actor>();
  /** Per actor, the turn of the call that started last. */
  readonly #turns = new Map<string, Promise<void>>();
  #callSeq = 0;
  #closed = false;

  /** Actors alive here. */
  get size(): number {
    return this.#actors.size;
  }

  has(actorId: string): boolean {
    return this.#actors.has(actorId);
  }

  /** Calls of an actor running now (0 for an unknown actor). */
  running(actorId: string): number {
    return this.#actors.get(actorId)?.running.size ?? 0;
  }

  /** Takes the next turn of an actor's tasks: call it when a task starts, before any await. */
  turn(actorId: string): Turn {
    const before = this.#turns.get(actorId);
    let open!: () => void;
    const mine = new Promise<void>((resolve) => (open = resolve));
    this.#turns.set(actorId, mine);
    return {
      before,
      release: () => {
        open();
        if (this.#turns.get(actorId) === mine) this.#turns.delete(actorId);
      },
    };
  }

  /**
   * Runs an actor's creation (`create`) or one of its method calls, after the tasks whose
   * turns came before `turn`'s. Never rejects.
   */
  run(actorId: string, create: boolean, request: ThreadRequest, opts: RunOptions = {}, turn?: Turn): Promise<ThreadResponse> {
    const enter = (): Promise<ThreadResponse> => {
      const response = this.#enter(actorId, create, request, opts);
      turn?.release();
      return response;
    };
    return turn?.before === undefined ? enter() : turn.before.then(enter);
  }

  #enter(actorId: string, create: boolean, request: ThreadRequest, opts: RunOptions): Promise<ThreadResponse> {
    const startedAtMs = nowMs();
    if (this.#closed) return Promise.resolve(errorResponse('CANCELLED', `task "${request.taskKey}": worker is closing`, request, startedAtMs));
    let actor = this.#actors.get(actorId);
    if (create) {
      if (actor !== undefined) this.destroy(actorId); // a re-run of the creation: start afresh
      actor = this.#spawn(actorId, request);
      if (actor === undefined) {
        return Promise.resolve(errorResponse('INTERNAL', `floe is not built: run npm run build (missing ${actorThreadPath()})`, request, startedAtMs));
      }
    } else if (actor === undefined) {
      return Promise.resolve(errorResponse('ACTOR_LOST', `actor ${actorId} is not on this worker (released, or its worker restarted)`, request, startedAtMs));
    }
    const target = actor;
    const req = request;
    const callId = ++this.#callSeq;
    let port: ContextPort | undefined;
    if (opts.context !== undefined) {
      port = target.contexts.open(callId);
      opts.context(port);
    }
    return new Promise<ThreadResponse>((resolve) => {
      let done = false;
      const job: Job = {
        callId,
        msg: { type: create ? 'create' : 'call', callId, context: port !== undefined, req },
        startedAtMs,
        settle: (response) => {
          if (done) return;
          done = true;
          port?.close();
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(response);
        },
      };
      const onAbort = (): void => {
        const i = target.queue.indexOf(job);
        if (i >= 0) target.queue.splice(i, 1);
        job.settle(errorResponse('CANCELLED', `task "${request.taskKey}" was cancelled`, request, startedAtMs));
        if (create) this.destroy(actorId);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (target.lost !== undefined) {
        job.settle(errorResponse('ACTOR_LOST', target.lost.message, request, startedAtMs));
        return;
      }
      target.queue.push(job);
      this.#pump(target);
    });
  }

  /** Ends an actor: its thread stops, calls waiting or running fail with ACTOR_LOST. */
  destroy(actorId: string, why = 'released'): void {
    const actor = this.#actors.get(actorId);
    if (actor === undefined) return;
    this.#actors.delete(actorId);
    this.#lose(actor, new FloeError('ACTOR_LOST', `actor ${actorId} was ${why}`));
    void actor.thread.terminate();
  }

  /** Ends every actor (the worker closes or starts over). */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = [...this.#actors.values()].map((a) => a.thread);
    for (const id of [...this.#actors.keys()]) this.destroy(id, 'stopped with its worker');
    await Promise.all(threads.map((t) => t.terminate()));
  }

  /** Ends every actor but keeps taking new ones (the worker registered again). */
  reset(): void {
    for (const id of [...this.#actors.keys()]) this.destroy(id, 'lost: its worker started over');
  }

  #spawn(actorId: string, req: ThreadRequest): Actor | undefined {
    const filename = actorThreadPath();
    if (!existsSync(filename)) return undefined;
    const { port1, port2 } = new MessageChannel();
    const thread = new Worker(filename, { execArgv: [], workerData: { contextPort: port2 }, transferList: [port2] });
    thread.unref();
    port1.unref();
    const actor: Actor = { id: actorId, thread, contexts: new MuxEndpoint(port1), concurrency: concurrencyOf(req), created: false, running: new Map(), queue: [], lost: undefined };
    thread.on('message', (reply: ActorThreadReply) => this.#onReply(actor, reply));
    const onGone = (why: string): void => {
      if (this.#actors.get(actorId) === actor) this.#actors.delete(actorId);
      this.#lose(actor, new FloeError('ACTOR_LOST', `actor ${actorId} ${why}`));
    };
    thread.on('error', (e) => onGone(`crashed: ${e instanceof Error ? e.message : String(e)}`));
    thread.on('exit', (code) => onGone(`thread exited (code ${code})`));
    this.#actors.set(actorId, actor);
    return actor;
  }

  #onReply(actor: Actor, reply: ActorThreadReply): void {
    const job = actor.running.get(reply.callId);
    if (job === undefined) return;
    actor.running.delete(reply.callId);
    if (job.msg.type === 'create') {
      if (reply.response.type === 'ok') actor.created = true;
      else this.destroy(actor.id, 'never created: its constructor failed');
    }
    job.settle(reply.response);
    this.#pump(actor);
  }

  #pump(actor: Actor): void {
    while (actor.queue.length > 0 && actor.lost === undefined) {
      const next = actor.queue[0]!;
      const creating = next.msg.type === 'create';
      // The creation runs alone; calls wait until the instance exists.
      if (!creating && !actor.created) return;
      if (actor.running.size >= (creating ? 1 : actor.concurrency)) return;
      actor.queue.shift();
      actor.running.set(next.callId, next);
      actor.thread.postMessage(next.msg);
    }
  }

  #lose(actor: Actor, error: FloeError): void {
    if (actor.lost !== undefined) return;
    actor.lost = error;
    actor.contexts.close();
    const jobs = [...actor.running.values(), ...actor.queue];
    actor.running.clear();
    actor.queue = [];
    for (const job of jobs) {
      job.settle(errorResponse('ACTOR_LOST', error.message, job.msg.req, job.startedAtMs));
    }
  }
}

/** The actor's `concurrency` option, sent as the creation's first argument. */
function concurrencyOf(req: ThreadRequest): number {
  try {
    const [first] = decodeArgs(req.args, () => undefined);
    const n = (first as { concurrency?: unknown } | undefined)?.concurrency;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : 1;
  } catch {
    return 1;
  }
}
