/**
 * In-process transport: the embedded mode's stand-in for NATS. One `InprocBus` is
 * the "server"; each party opens its own `Transport` on it. Delivery happens on a
 * later microtask so handlers never re-enter the publisher, as with a real network.
 */
import { FloeError } from '../../errors.ts';
import { noRespondersError, type Headers, type RequestOptions, type Subscription, type Transport, type TransportMessage } from '../transport.ts';

type Handler = (msg: TransportMessage) => void;

export class InprocBus {
  private readonly subs = new Map<string, Set<Handler>>();
  private inboxSeq = 0;

  connect(): Transport {
    return new InprocTransport(this);
  }

  /** @internal */
  deliver(subject: string, data: Uint8Array, headers: Headers | undefined, replyTo: string | undefined): boolean {
    const handlers = this.subs.get(subject);
    if (handlers === undefined || handlers.size === 0) return false;
    for (const handler of [...handlers]) {
      queueMicrotask(() => {
        handler(this.message(subject, data, headers, replyTo));
      });
    }
    return true;
  }

  /** @internal */
  add(subject: string, handler: Handler): () => void {
    let set = this.subs.get(subject);
    if (set === undefined) {
      set = new Set();
      this.subs.set(subject, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.subs.delete(subject);
    };
  }

  /** @internal */
  newInbox(): string {
    this.inboxSeq += 1;
    return `_INBOX.${this.inboxSeq}`;
  }

  private message(subject: string, data: Uint8Array, headers: Headers | undefined, replyTo: string | undefined): TransportMessage {
    return {
      subject,
      data,
      headers,
      expectsReply: replyTo !== undefined,
      replyTo,
      respond: (reply: Uint8Array, replyHeaders?: Headers) => {
        if (replyTo !== undefined) this.deliver(replyTo, reply, replyHeaders, undefined);
      },
    };
  }
}

class InprocTransport implements Transport {
  private readonly unsubs = new Set<() => void>();
  private closed = false;

  constructor(private readonly bus: InprocBus) {}

  publish(subject: string, data: Uint8Array, headers?: Headers): void {
    this.checkOpen();
    this.bus.deliver(subject, data, headers, undefined);
  }

  relay(subject: string, data: Uint8Array, request: TransportMessage): void {
    this.checkOpen();
    this.bus.deliver(subject, data, undefined, request.replyTo);
  }

  subscribe(subject: string, handler: Handler): Subscription {
    this.checkOpen();
    const remove = this.bus.add(subject, handler);
    this.unsubs.add(remove);
    return {
      unsubscribe: () => {
        remove();
        this.unsubs.delete(remove);
      },
    };
  }

  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<TransportMessage> {
    this.checkOpen();
    const inbox = this.bus.newInbox();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new FloeError('REQUEST_TIMEOUT', `no reply on ${subject} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      const remove = this.bus.add(inbox, (msg) => {
        done();
        resolve(msg);
      });
      const done = (): void => {
        clearTimeout(timer);
        remove();
      };
      const via = options.sendVia;
      if (via !== undefined) {
        const fail = (error: Error): void => {
          done();
          reject(new FloeError('REQUEST_TIMEOUT', `request on ${subject} failed: ${error.message}`, { cause: error }));
        };
        try {
          via(inbox, data, fail);
        } catch (error) {
          fail(error as Error);
        }
        return;
      }
      if (!this.bus.deliver(subject, data, options.headers, inbox)) {
        done();
        reject(noRespondersError(subject));
      }
    });
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** The bus never disconnects, so listeners are never called. */
  onReconnect(_listener: () => void): void {}

  close(): Promise<void> {
    this.closed = true;
    for (const remove of this.unsubs) remove();
    this.unsubs.clear();
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new FloeError('CLIENT_CLOSED', 'transport is closed');
  }
}
