/**
 * A pool thread's own port to the worker's main thread, made once, on first need, and
 * sent to the main thread through the thread's parentPort (Piscina hands such messages to
 * its 'message' event; worker/executor-pool.ts listens there). Task contexts open virtual
 * channels on it (mux-port.ts), so a run pays for a channel only when it calls
 * getContext(); task batches report their results on it as they finish.
 */
import { MessageChannel, parentPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { FloeError } from '../errors.ts';
import { MuxEndpoint, type ContextPort } from './mux-port.ts';

/** The message a pool thread sends its parent to hand over its port. */
export interface PoolPortMessage {
  type: 'floe.poolPort';
  port: MessagePort;
}

export function isPoolPortMessage(msg: unknown): msg is PoolPortMessage {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'floe.poolPort';
}

let endpoint: MuxEndpoint | undefined;

function poolEndpoint(): MuxEndpoint {
  if (endpoint !== undefined) return endpoint;
  if (parentPort === null) throw new FloeError('INTERNAL', 'a pool port exists only in a pool thread');
  const { port1, port2 } = new MessageChannel();
  const handover: PoolPortMessage = { type: 'floe.poolPort', port: port2 };
  parentPort.postMessage(handover, [port2]);
  // Runs waiting on their context keep the thread busy; the port itself must not.
  port1.unref();
  endpoint = new MuxEndpoint(port1);
  return endpoint;
}

/** Opens the context channel of run `contextRef` (see ThreadRequest.contextRef). */
export function openPoolContext(contextRef: number): ContextPort {
  return poolEndpoint().openFor(contextRef);
}

/** Sends `data` to the executor (outside any context channel). */
export function postToPool(data: unknown, transferList?: readonly Transferable[]): void {
  poolEndpoint().sendData(data, transferList);
}
