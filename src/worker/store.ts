/**
 * The worker's object store: serialized task results, keyed by task id, with byte
 * accounting and an optional byte limit.
 */
import { FloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';

export interface StoredObject {
  serializer: SerializerRef;
  bytes: Uint8Array;
}

export interface ObjectStoreOptions {
  /** Total stored bytes allowed; a put beyond it is LIMIT_EXCEEDED. Default: no limit. */
  bytesMax?: number;
}

export class ObjectStore {
  readonly #objects = new Map<string, StoredObject>();
  readonly #bytesMax: number;
  #bytes = 0;

  constructor(options: ObjectStoreOptions = {}) {
    const max = options.bytesMax ?? Number.POSITIVE_INFINITY;
    if (!(max === Number.POSITIVE_INFINITY || (Number.isSafeInteger(max) && max >= 0))) {
      throw new FloeError('INVALID_OPTION', 'options.bytesMax must be a non-negative integer');
    }
    this.#bytesMax = max;
  }

  /** Stores (or replaces) an object. Over the limit: LIMIT_EXCEEDED and nothing changes. */
  put(id: string, object: StoredObject): void {
    const previous = this.#objects.get(id)?.bytes.byteLength ?? 0;
    const next = this.#bytes - previous + object.bytes.byteLength;
    if (next > this.#bytesMax) {
      throw new FloeError(
        'LIMIT_EXCEEDED',
        `object store full: storing "${id}" (${object.bytes.byteLength} bytes) would use ${next} of ${this.#bytesMax} bytes (bytesMax)`,
        { taskKey: id },
      );
    }
    this.#objects.set(id, object);
    this.#bytes = next;
  }

  get(id: string): StoredObject | undefined {
    return this.#objects.get(id);
  }

  has(id: string): boolean {
    return this.#objects.has(id);
  }

  /** Removes an object; returns whether it was there. */
  delete(id: string): boolean {
    const object = this.#objects.get(id);
    if (object === undefined) return false;
    this.#objects.delete(id);
    this.#bytes -= object.bytes.byteLength;
    return true;
  }

  /** Number of stored objects. */
  get size(): number {
    return this.#objects.size;
  }

  /** Total stored bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  get bytesMax(): number {
    return this.#bytesMax;
  }

  keys(): IterableIterator<string> {
    return this.#objects.keys();
  }
}
