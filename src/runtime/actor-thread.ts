/**
 * Entry of an actor's own thread (one per actor instance, started by worker/actor-host.ts).
 * Must be loaded as compiled JS, like the pool thread entry. The thread keeps the instance
 * and runs the method calls it is sent; the host decides how many run at once.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { isActorClassDef } from '../client/actor-def.ts';
import { FloeError, toErrorInfo } from '../errors.ts';
import { decodeArgs } from '../serde/args.ts';
import { serializeResult } from '../serde/registry.ts';
import { ownBytes } from '../serde/bytes.ts';
import type { ActorThreadReply, ActorThreadRequest } from './actor-protocol.ts';
import { threadActorHandle } from './context.ts';
import { loadModule } from './load-module.ts';
import { MuxEndpoint } from './mux-port.ts';
import { nowMs } from './protocol.ts';
import type { ThreadRequest, ThreadResponse } from './protocol.ts';
import { callInContext, findSerializer, followRef, inputBytes, loadDeps } from './run-task.ts';
import { letGoNow } from '../util/collect.ts';

let instance: Record<string, unknown> | undefined;

async function construct(req: ThreadRequest): Promise<unknown> {
  const ns = await loadModule(req.module);
  const def = ns[req.exportName];
  if (!isActorClassDef(def)) {
    throw new FloeError('NOT_AN_ACTOR', `export ${req.exportName} of module ${req.module} is not an actor class; wrap it with actorClass()`);
  }
  const args = await decodeWithDeps(req);
  const ctorArgs = args.slice(1); // args[0] is the actor's options
  const Cls = def.cls as unknown as new (...a: unknown[]) => Record<string, unknown>;
  instance = await callInContext(req, () => new Cls(...ctorArgs));
  return true;
}

async function call(req: ThreadRequest): Promise<unknown> {
  if (instance === undefined) throw new FloeError('ACTOR_LOST', `actor of "${req.taskKey}" does not exist on this thread`);
  const method = instance[req.exportName];
  if (typeof method !== 'function') {
    throw new FloeError('NOT_AN_ACTOR', `actor has no method "${req.exportName}"`, { taskKey: req.taskKey });
  }
  const args = await decodeWithDeps(req);
  const self = instance;
  return callInContext(req, () => (method as (...a: unknown[]) => unknown).apply(self, args));
}

async function decodeWithDeps(req: ThreadRequest): Promise<unknown[]> {
  const deps = await loadDeps(req.deps);
  return decodeArgs(req.args, (ref) => followRef(ref, deps, req.taskKey), (ref) => threadActorHandle(ref.actorId));
}

/** One port for the contexts of all calls (see mux-port.ts). */
const contexts = new MuxEndpoint((workerData as { contextPort: MessagePort }).contextPort);

async function handle(msg: ActorThreadRequest): Promise<ThreadResponse> {
  const startedAtMs = nowMs();
  const t0 = performance.now();
  const req: ThreadRequest = msg.context ? { ...msg.req, port: contexts.open(msg.callId) } : msg.req;
  try {
    const value = msg.type === 'create' ? await construct(req) : await call(req);
    const serializer = await findSerializer(req.serializer);
    const bytes = ownBytes(serializeResult(value, serializer, req.taskKey));
    return { type: 'ok', bytes, serializer: req.serializer, startedAtMs, durationMs: performance.now() - t0 };
  } catch (e) {
    return { type: 'error', error: toErrorInfo(e, 'TASK_ERROR', req.taskKey), startedAtMs, durationMs: performance.now() - t0 };
  }
}

/**
 * Input bytes of the calls finished since the last message: let go of (util/collect.ts)
 * when the next one comes. Collected on the turn after a call, or at once after its reply,
 * the thread went on growing by an input per call in some runs of the memory test (3 of 6,
 * 2 of 4); collected when the next call comes, in none of 12.
 */
let finishedInputBytes = 0;

parentPort?.on('message', (msg: ActorThreadRequest) => {
  letGoNow(finishedInputBytes);
  finishedInputBytes = 0;
  void handle(msg).then((response) => {
    const reply: ActorThreadReply = { callId: msg.callId, response };
    parentPort!.postMessage(reply, response.type === 'ok' ? [response.bytes.buffer as ArrayBuffer] : []);
    finishedInputBytes += inputBytes(msg.req);
  });
});
