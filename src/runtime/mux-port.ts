/**
 * Many task contexts over one MessagePort. Each task context needs a channel to the
 * worker's main thread (runtime/context.ts); making and transferring a MessagePort per
 * run costs more than a small task itself, so each actor thread and each pool thread has
 * one port, and every run that uses its context opens a numbered virtual port on it.
 *
 * Actor threads: the host numbers the channel and both ends open it. Pool threads: the
 * thread opens a channel when a task first calls getContext() and names the run in the
 * opening frame (`open`); the main thread's endpoint hands the new virtual port to
 * `onOpen`. Frames without a channel carry other traffic of the thread (`onData`).
 */
import { EventEmitter } from 'node:events';
import type { MessagePort, Transferable } from 'node:worker_threads';

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

type Frame =
  | { channel: number; msg?: unknown; close?: true; /** Opens the channel for this run (pool threads). */ open?: number }
  | { channel?: undefined; data: unknown };

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

export interface MuxEndpointOptions {
  /** The peer opened a channel for run `ref`. */
  onOpen?(port: ContextPort, ref: number): void;
  /** A frame outside any channel. */
  onData?(data: unknown): void;
}

export class MuxEndpoint {
  readonly #channels = new Map<number, VirtualPort>();
  #channelSeq = 0;

  constructor(
    private readonly port: MessagePort,
    options: MuxEndpointOptions = {},
  ) {
    port.on('message', (frame: Frame) => {
      if (frame.channel === undefined) {
        options.onData?.(frame.data);
        return;
      }
      if (frame.open !== undefined) {
        const vp = this.open(frame.channel);
        if (options.onOpen === undefined) vp.close();
        else options.onOpen(vp, frame.open);
        return;
      }
      const vp = this.#channels.get(frame.channel);
      if (vp === undefined) return;
      if (frame.close === true) vp.closedByPeer();
      else vp.emit('message', frame.msg);
    });
    // The peer's thread ended (or closed the port): every channel on it is over.
    port.once('close', () => this.#closeChannels());
  }

  /** A virtual port for `channel` (both ends use the same number). */
  open(channel: number): ContextPort {
    const vp = new VirtualPort(this, channel);
    this.#channels.set(channel, vp);
    return vp;
  }

  /** Opens a new channel for run `ref`; the peer gets it through `onOpen`. */
  openFor(ref: number): ContextPort {
    const channel = ++this.#channelSeq;
    this.send({ channel, open: ref });
    return this.open(channel);
  }

  /** Sends a frame outside any channel (the peer's `onData`). */
  sendData(data: unknown, transferList?: readonly Transferable[]): void {
    const frame: Frame = { data };
    if (transferList === undefined || transferList.length === 0) this.port.postMessage(frame);
    else this.port.postMessage(frame, transferList);
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
    this.#closeChannels();
    this.port.close();
  }

  #closeChannels(): void {
    for (const vp of [...this.#channels.values()]) vp.closedByPeer();
  }
}
