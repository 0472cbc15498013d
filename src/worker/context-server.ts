/**
 * The worker's side of task contexts (runtime/context.ts): requests from running tasks
 * arrive on each run's MessagePort and are carried out with one client of the cluster per
 * worker, made on first use over the worker's own transport and data plane. What a run
 * submitted is released when the run ends (its port closes).
 */
import type { ContextPort } from '../runtime/mux-port.ts';
import type { Client, ClientConnection } from '../client/client.ts';
import type { Future } from '../client/future.ts';
import { FloeError, isFloeError, toErrorInfo } from '../errors.ts';
import type { TaskOptions } from '../graph/options.ts';
import { decodeArgs, FutureRef } from '../serde/args.ts';
import type { ContextReply, ContextRequest } from '../runtime/context-protocol.ts';
import { TASK_BRAND, type TaskDefCore } from '../client/task-def.ts';
import type { Logger } from '../util/logger.ts';

export interface ContextServerOptions {
  connection: () => ClientConnection;
  /** A run's slot is free (it waits on results) or taken again. */
  onSlot(id: string, runId: number, seceded: boolean): void;
  logger: Logger;
}

/** A task-definition stand-in for a submission from a thread (its export name is known). */
function taskDef(module: string, exportName: string): TaskDefCore<unknown[], unknown> {
  return { [TASK_BRAND]: true, moduleUrl: module, exportName, fn: () => undefined, options: {} };
}

export class ContextServer {
  #client: Promise<Client> | undefined;
  #closed = false;

  constructor(private readonly options: ContextServerOptions) {}

  /** Serves the context of one run until its port closes. */
  attach(port: ContextPort, id: string, runId: number): void {
    const session = new Session(this, port, id, runId);
    port.on('message', (msg: ContextRequest) => session.receive(msg));
    port.once('close', () => session.end());
  }

  /** @internal */
  client(): Promise<Client> {
    if (this.#closed) return Promise.reject(new FloeError('CLIENT_CLOSED', 'the worker is closing'));
    this.#client ??= import('../client/client.ts').then(({ Client }) => new Client(this.options.connection()));
    return this.#client;
  }

  /**
   * The worker starts over (worker/node.ts reset): the coordinator that asked may be a new
   * one, which drops this client the moment it hears from it (it names the old one's
   * incarnation), and the runs that used it are gone. Runs from now on get a new client; the
   * old one says bye, letting go of whatever its runs had submitted.
   */
  reset(): void {
    const old = this.#client;
    this.#client = undefined;
    old?.then((client) => client.close()).catch((err: unknown) => this.options.logger.warn({ err }, 'could not close the context client of a worker starting over'));
  }

  /** @internal */
  slot(id: string, runId: number, seceded: boolean): void {
    if (!this.#closed) this.options.onSlot(id, runId, seceded);
  }

  get logger(): Logger {
    return this.options.logger;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = await this.#client?.catch(() => undefined);
    await client?.close();
  }
}

class Session {
  readonly #futures = new Map<string, Future<unknown>>();
  readonly #errors = new Map<string, FloeError>();
  /** Submissions and releases are carried out in order (a result request may follow its submit). */
  #chain: Promise<void> = Promise.resolve();
  #ended = false;

  constructor(
    private readonly server: ContextServer,
    private readonly port: ContextPort,
    private readonly id: string,
    private readonly runId: number,
  ) {}

  receive(msg: ContextRequest): void {
    if (msg.type === 'slot') {
      this.server.slot(this.id, this.runId, msg.seceded);
      return;
    }
    this.#chain = this.#chain.then(() => this.#handle(msg)).catch((error: unknown) => {
      this.server.logger.warn({ id: this.id, err: error }, 'task context request failed');
    });
  }

  end(): void {
    this.#ended = true;
    // Queued after whatever the run sent last.
    this.#chain = this.#chain.then(() => {
      for (const f of this.#futures.values()) f.release();
      this.#futures.clear();
    });
  }

  async #handle(msg: Exclude<ContextRequest, { type: 'slot' }>): Promise<void> {
    switch (msg.type) {
      case 'submit':
      case 'actorCall':
        return this.#submit(msg);
      case 'release':
        for (const key of msg.keys) {
          this.#futures.get(key)?.release();
          this.#futures.delete(key);
        }
        return;
      case 'result':
        void this.#result(msg.requestId, msg.key);
        return;
    }
  }

  async #submit(msg: Extract<ContextRequest, { type: 'submit' | 'actorCall' }>): Promise<void> {
    let client: Client;
    try {
      client = await this.server.client();
      const args = decodeArgs(msg.args, (ref) => {
        if (!this.#futures.has(ref.key)) throw new FloeError('INVALID_ARGUMENT', `"${ref.key}" was not submitted by this task`);
        return new FutureRef(ref.key, ref.path);
      });
      let future: Future<unknown>;
      if (msg.type === 'submit') {
        const options = { ...msg.options, key: msg.key } as TaskOptions;
        future = client.submitWith(taskDef(msg.module, msg.exportName), options, args, true);
      } else {
        const { submitActorCall } = await import('../client/actor.ts');
        future = submitActorCall(client, msg.actorId, msg.method, args, msg.key);
      }
      if (this.#ended) future.release();
      else this.#futures.set(msg.key, future);
    } catch (error) {
      this.#errors.set(msg.key, isFloeError(error) ? error : new FloeError('INTERNAL', String(error), { cause: error }));
    }
  }

  async #result(requestId: number, key: string): Promise<void> {
    let reply: ContextReply;
    try {
      // Wait for the submissions before this request to be carried out.
      await this.#chain;
      const future = this.#futures.get(key);
      if (future === undefined) throw this.#errors.get(key) ?? new FloeError('INVALID_ARGUMENT', `"${key}" was not submitted by this task (or was released)`);
      const client = await this.server.client();
      const object = await client.resultObjectOf(future.state);
      reply = { type: 'result', requestId, ok: true, bytes: object.bytes, serializer: object.serializer };
    } catch (error) {
      reply = { type: 'result', requestId, ok: false, error: toErrorInfo(error, 'INTERNAL', key) };
    }
    if (this.#ended) return;
    try {
      this.port.postMessage(reply);
    } catch {
      // The port closed meanwhile: the run is over.
    }
  }
}
