/**
 * Embedded-mode data plane: a registry of in-process object sources by address.
 * Results are handed over without copying; stored bytes are never mutated.
 */
import { FloeError } from '../errors.ts';
import type { DataPlane, FetchedObject, ObjectSource } from './dataplane.ts';
import { ATTR, SpanKind, activeTraceparent, startSpan } from '../telemetry/trace.ts';
import { keyOf } from '../graph/task-id.ts';

export class InprocDataPlane implements DataPlane {
  private readonly sources: Map<string, ObjectSource>;
  private readonly served = new Set<string>();

  /** Instances created with the same `registry` see each other's sources. */
  constructor(registry: Map<string, ObjectSource> = new Map()) {
    this.sources = registry;
  }

  /** A second data plane on the same registry (one per worker or client). */
  peer(): InprocDataPlane {
    return new InprocDataPlane(this.sources);
  }

  serve(name: string, source: ObjectSource): Promise<string> {
    const address = `inproc://${name}`;
    if (this.sources.has(address)) {
      throw new FloeError('INVALID_ARGUMENT', `data plane address ${address} is already served`);
    }
    this.sources.set(address, source);
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
    for (const address of this.served) this.sources.delete(address);
    this.served.clear();
    return Promise.resolve();
  }
}
