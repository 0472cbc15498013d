/**
 * Embedded-mode data plane: a registry of in-process object sources by address.
 * Results are handed over without copying; stored bytes are never mutated.
 */
import { FloeError } from '../errors.ts';
import type { DataPlane, FetchedObject, ObjectSource, PutRequest } from './dataplane.ts';
import { ATTR, SpanKind, activeTraceparent, startSpan } from '../telemetry/trace.ts';
import { keyOf } from '../graph/task-id.ts';

type AcceptPut = (put: PutRequest) => Promise<void>;

export class InprocDataPlane implements DataPlane {
  private readonly sources: Map<string, ObjectSource>;
  /** Who takes puts, by address (of the instances on the same registry). */
  private readonly putTakers: Map<string, AcceptPut>;
  private readonly served = new Set<string>();
  private acceptPut: AcceptPut | undefined;

  /** Instances created with the same `registry` see each other's sources. */
  constructor(registry: Map<string, ObjectSource> = new Map(), putTakers: Map<string, AcceptPut> = new Map()) {
    this.sources = registry;
    this.putTakers = putTakers;
  }

  /** A second data plane on the same registry (one per worker or client). */
  peer(): InprocDataPlane {
    return new InprocDataPlane(this.sources, this.putTakers);
  }

  acceptPuts(accept: AcceptPut): void {
    this.acceptPut = accept;
  }

  /** The value is copied into shared memory, as the gRPC data plane receives it: the caller's bytes stay its own. */
  async put(address: string, put: PutRequest): Promise<void> {
    const accept = this.putTakers.get(address);
    if (accept === undefined) throw new FloeError('WORKER_LOST', `no worker takes puts at ${address}`, { retryable: true });
    const bytes = new Uint8Array(new SharedArrayBuffer(put.bytes.byteLength));
    bytes.set(put.bytes);
    // The worker's side of a traced put, as the gRPC server records it.
    const span = activeTraceparent() === '' ? undefined : startSpan('put.store', { [ATTR.bytes]: bytes.byteLength }, undefined, { kind: SpanKind.SERVER });
    const taken: PutRequest = { replyTo: put.replyTo, submit: put.submit.slice(), bytes };
    if (put.copy === true) taken.copy = true;
    if (put.sizes !== undefined) taken.sizes = [...put.sizes];
    try {
      await accept(taken);
    } finally {
      span?.end();
    }
  }

  serve(name: string, source: ObjectSource): Promise<string> {
    const address = `inproc://${name}`;
    if (this.sources.has(address)) {
      throw new FloeError('INVALID_ARGUMENT', `data plane address ${address} is already served`);
    }
    this.sources.set(address, source);
    if (this.acceptPut !== undefined) this.putTakers.set(address, this.acceptPut);
    this.served.add(address);
    return Promise.resolve(address);
  }

  async fetch(address: string, id: string): Promise<FetchedObject> {
    const source = this.sources.get(address);
    // The holder's side of a traced transfer, as the gRPC server records it.
    const span = activeTraceparent() === '' ? undefined : startSpan('transfer.serve', { [ATTR.taskKey]: keyOf(id) }, undefined, { kind: SpanKind.SERVER });
    let found: FetchedObject | undefined;
    try {
      found = await source?.get(id);
      span?.setAttribute(ATTR.bytes, found?.bytes.byteLength ?? 0);
    } finally {
      span?.end();
    }
    if (found === undefined) {
      throw new FloeError('RESULT_UNAVAILABLE', `result ${id} is not held at ${address}${source ? '' : ' (no such worker)'}`);
    }
    return found;
  }

  close(): Promise<void> {
    for (const address of this.served) {
      this.sources.delete(address);
      this.putTakers.delete(address);
    }
    this.served.clear();
    return Promise.resolve();
  }
}
