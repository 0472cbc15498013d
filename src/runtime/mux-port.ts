/**
 * Many task contexts over one MessagePort. An actor's calls each need a context channel
 * (runtime/context.ts); making and transferring a MessagePort per call costs more than a
 * small call itself, so each actor thread gets one port at its start and every call opens
 * a numbered virtual port on it.
 */
import { EventEmitter } from 'node:events';
import type { MessagePort } from 'node:worker_threads';

/** What a task context needs of its channel: a MessagePort, or a virtual port below. */
export interface ContextPort {
  postMessage(msg: unknown): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are typed by their protocol
  on(event: 'message', listener: (msg: any) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  ref(): void;
  unref(): void;
  close(): void;
}

interface Frame {
  channel: number;
  msg?: unknown;
  close?: true;
}

class VirtualPort extends EventEmitter implements ContextPort {
  #closed = false;

  constructor(
    private readonly endpoint: MuxEndpoint,
    readonly channel: number,
  ) {
    super();
  }

  postMessage(msg: unknown): void {
    if (!this.#closed) this.endpoint.send({ channel: this.channel, msg });
  }

  // The shared port's liveness is the endpoint owner's business.
  ref(): void {}
  unref(): void {}

  close(): void {
    if (this.#closed) return;
    this.endpoint.send({ channel: this.channel, close: true });
    this.closedByPeer();
  }

  /** @internal */
  closedByPeer(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.endpoint.forget(this.channel);
    this.emit('close');
  }
}

export class MuxEndpoint {
  readonly #channels = new Map<number, VirtualPort>();

  constructor(private readonly port: MessagePort) {
    port.on('message', (frame: Frame) => {
      const vp = this.#channels.get(frame.channel);
      if (vp === undefined) return;
      if (frame.close === true) vp.closedByPeer();
      else vp.emit('message', frame.msg);
    });
  }

  /** A virtual port for `channel` (both ends use the same number). */
  open(channel: number): ContextPort {
    const vp = new VirtualPort(this, channel);
    this.#channels.set(channel, vp);
    return vp;
  }

  /** @internal */
  send(frame: Frame): void {
    this.port.postMessage(frame);
  }

  /** @internal */
  forget(channel: number): void {
    this.#channels.delete(channel);
  }

  close(): void {
    for (const vp of [...this.#channels.values()]) vp.closedByPeer();
    this.port.close();
  }
}
