/**
 * The worker's object store: serialized task results, keyed by task id, with byte
 * accounting, a memory limit and (optionally) spilling to disk, as in Dask's SpillBuffer.
 *
 * - In memory the store keeps at most `bytesMax` bytes. A put that would go past it first
 *   spills least-recently-used results and waits for their writes to land (backpressure);
 *   with no spill storage it fails with LIMIT_EXCEEDED instead.
 * - Past `targetBytes`, least-recently-used results are written to disk in the background
 *   until the store is back under it. A result leaves memory when its write lands.
 * - `get()` loads a spilled result back (async). It stays in memory again only if that
 *   keeps the store under `targetBytes`; its file is kept, so evicting it again is free.
 * - A single result larger than `bytesMax` goes straight to disk (put resolves when it is
 *   written) rather than failing the task: the flow completes, just slower.
 *
 * `bytes` counts results held in memory, including those whose spill write is in flight;
 * `spilledBytes` those only on disk. `bytesHighWater` is the most ever held in memory.
 * This file decides what is in memory; the disk I/O is worker/spilling.ts.
 */
import { FloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import type { SpillStorage } from './spill.ts';
import { Spiller, type StoreEntry } from './spilling.ts';
import { ChurnMap } from '../util/churn-map.ts';
import { letGoSoon } from '../util/collect.ts';

export interface StoredObject {
  serializer: SerializerRef;
  bytes: Uint8Array;
}

export interface ObjectStoreOptions {
  /** Bytes the store may hold in memory. Default: no limit. */
  bytesMax?: number;
  /** Spill least-recently-used results above this many bytes. Default: bytesMax. Needs `spill`. */
  targetBytes?: number;
  /** Where spilled results go. Without it nothing spills and a put past bytesMax is LIMIT_EXCEEDED. */
  spill?: SpillStorage;
  /** Called (once per microtask at most) after the in-memory byte count changed. */
  onChange?: () => void;
  /** Called when a background spill write fails (the result stays in memory). */
  onSpillError?: (error: unknown, id: string) => void;
}

interface Pending {
  done: Promise<void>;
}

export class ObjectStore {
  readonly #entries = new ChurnMap<string, StoreEntry>();
  /**
   * Ids whose bytes are in memory, least recently used first: what to spill first. Kept
   * only when the store can spill (a memory limit): without one it would cost two set
   * operations per result for an order nobody reads.
   */
  readonly #lru: Set<string> | undefined;
  /** Puts waiting for room (or writing an oversized result), by id; delete() cancels them. */
  readonly #pending = new Map<string, Pending>();
  readonly #bytesMax: number;
  readonly #targetBytes: number;
  /** Disk I/O; undefined without spill storage. */
  readonly #spiller: Spiller | undefined;
  readonly #onChange: (() => void) | undefined;
  #bytes = 0;
  #spilledBytes = 0;
  #spilledCount = 0;
  #highWater = 0;
  #notifyQueued = false;
  #closed = false;

  constructor(options: ObjectStoreOptions = {}) {
    const max = options.bytesMax ?? Number.POSITIVE_INFINITY;
    if (!(max === Number.POSITIVE_INFINITY || (Number.isSafeInteger(max) && max >= 0))) {
      throw new FloeError('INVALID_OPTION', 'options.bytesMax must be a non-negative integer');
    }
    const target = options.targetBytes ?? max;
    if (!(target === max || (Number.isSafeInteger(target) && target >= 0 && target <= max))) {
      throw new FloeError('INVALID_OPTION', 'options.targetBytes must be a non-negative integer <= options.bytesMax');
    }
    this.#bytesMax = max;
    this.#targetBytes = target;
    this.#onChange = options.onChange;
    this.#lru = options.spill === undefined ? undefined : new Set();
    // The spiller hands entries back through this host: only the store counts bytes in memory.
    this.#spiller = options.spill === undefined ? undefined : new Spiller(options.spill, {
      holds: (entry) => this.#entries.get(entry.id) === entry,
      spilled: (entry) => {
        this.#dropFromMemory(entry);
        this.#evict(this.#targetBytes);
      },
      loaded: (entry, bytes) => this.#loaded(entry, bytes),
    }, options.onSpillError);
  }

  /**
   * Stores (or replaces) an object at once when it fits in memory and returns true (the
   * common path, with no promise to wait on); otherwise stores nothing, returns false, and
   * the caller uses put(). Either way an older object of the same id is gone.
   */
  putNow(id: string, object: StoredObject): boolean {
    this.delete(id);
    if (this.#bytes + object.bytes.byteLength > this.#bytesMax) return false;
    this.#insert(id, object);
    return true;
  }

  /**
   * Stores (or replaces) an object; resolves once it is held (in memory or, when larger
   * than bytesMax, on disk). Rejects with LIMIT_EXCEEDED, storing nothing, when there is
   * no room and nothing can be spilled. Resolves false if a delete() or a newer put of the
   * same id overtook it while it waited (nothing stored by this call).
   */
  async put(id: string, object: StoredObject): Promise<boolean> {
    if (this.putNow(id, object)) return true;
    const n = object.bytes.byteLength;
    const spiller = this.#spiller;
    if (spiller === undefined) throw this.#full(id, n);
    // The record is the token: a delete() (or a newer put) while waiting replaces or removes it.
    const pending: Pending = { done: Promise.resolve() };
    this.#pending.set(id, pending);
    const current = (): boolean => this.#pending.get(id) === pending;
    pending.done = n > this.#bytesMax ? this.#putOnDisk(id, object, spiller, current) : this.#putWhenRoom(id, object, spiller, current);
    try {
      await pending.done;
      return current();
    } finally {
      if (current()) this.#pending.delete(id);
    }
  }

  /** The object, loaded back from disk if it was spilled; undefined when not held. */
  async get(id: string): Promise<StoredObject | undefined> {
    const pending = this.#pending.get(id);
    if (pending !== undefined) await pending.done;
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.bytes !== undefined) {
      this.#touch(id);
      return { serializer: entry.serializer, bytes: entry.bytes };
    }
    const spiller = this.#spiller;
    if (spiller === undefined) throw new FloeError('INTERNAL', `object ${id} is neither in memory nor spilled`);
    entry.reading ??= spiller.load(entry);
    return { serializer: entry.serializer, bytes: await entry.reading };
  }

  /** The object if it is in memory right now (no loading, no LRU update). */
  peek(id: string): StoredObject | undefined {
    const entry = this.#entries.get(id);
    return entry?.bytes === undefined ? undefined : { serializer: entry.serializer, bytes: entry.bytes };
  }

  /** Size and serializer of a held object, wherever it is. */
  info(id: string): { nbytes: number; serializer: SerializerRef; spilled: boolean } | undefined {
    const entry = this.#entries.get(id);
    return entry && { nbytes: entry.nbytes, serializer: entry.serializer, spilled: entry.bytes === undefined };
  }

  /** Held, or being stored by a put that waits for room. */
  has(id: string): boolean {
    return this.#entries.has(id) || this.#pending.has(id);
  }

  /** Removes an object (and its spilled file); returns whether it was there. */
  delete(id: string): boolean {
    const wasPending = this.#pending.size > 0 && this.#pending.delete(id);
    const entry = this.#entries.get(id);
    if (entry === undefined) return wasPending;
    this.#entries.delete(id);
    if (entry.bytes !== undefined) {
      letGoOf(entry.bytes);
      this.#lru?.delete(id);
      this.#bytes -= entry.nbytes;
      this.#changed();
    } else {
      this.#spilledBytes -= entry.nbytes;
      this.#spilledCount -= 1;
    }
    if (entry.writing || entry.file !== undefined) this.#spiller?.discard(entry);
    return true;
  }

  /** Number of stored objects (in memory and spilled). */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held in memory (including results whose spill write is in flight). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of results held only on disk. */
  get spilledBytes(): number {
    return this.#spilledBytes;
  }

  /** Number of results held only on disk. */
  get spilledCount(): number {
    return this.#spilledCount;
  }

  /** The most bytes ever held in memory at once. */
  get bytesHighWater(): number {
    return this.#highWater;
  }

  get bytesMax(): number {
    return this.#bytesMax;
  }

  get targetBytes(): number {
    return this.#targetBytes;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Resolves when no disk I/O is in flight (tests). */
  async idle(): Promise<void> {
    await this.#spiller?.idle();
  }

  /** Waits for disk I/O, then removes everything spilled. The store is unusable after. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#spiller?.close();
  }

  #insert(id: string, object: StoredObject): void {
    const n = object.bytes.byteLength;
    const entry: StoreEntry = {
      id,
      serializer: object.serializer,
      nbytes: n,
      bytes: object.bytes,
      file: undefined,
      writing: false,
      unspillable: false,
      reading: undefined,
    };
    this.#entries.set(id, entry);
    this.#lru?.add(id);
    this.#bytes += n;
    this.#highWater = Math.max(this.#highWater, this.#bytes);
    this.#changed();
    this.#evict(this.#targetBytes);
  }

  /** Makes room by spilling (waiting for writes to land), then inserts; no await between check and insert. */
  async #putWhenRoom(id: string, object: StoredObject, spiller: Spiller, current: () => boolean): Promise<void> {
    const n = object.bytes.byteLength;
    for (;;) {
      if (this.#bytes + n <= this.#bytesMax) {
        this.#insert(id, object);
        return;
      }
      this.#evict(this.#bytesMax - n);
      if (!spiller.writing) throw this.#full(id, n);
      await spiller.nextWrite();
      if (!current()) return; // deleted or replaced while waiting
      if (this.#closed) throw new FloeError('LIMIT_EXCEEDED', `cannot store ${id}: the object store is closed`, { taskKey: id });
    }
  }

  /** A result larger than the whole limit: straight to disk, never counted in memory. */
  async #putOnDisk(id: string, object: StoredObject, spiller: Spiller, current: () => boolean): Promise<void> {
    let file: string;
    try {
      file = await spiller.writeFile(id, object.bytes);
    } catch (error) {
      throw new FloeError(
        'LIMIT_EXCEEDED',
        `result ${id} (${object.bytes.byteLength} bytes) is larger than the memory limit (${this.#bytesMax} bytes) and could not be spilled`,
        { cause: error, taskKey: id },
      );
    }
    if (!current() || this.#closed) {
      spiller.remove(file);
      return;
    }
    const n = object.bytes.byteLength;
    this.#entries.set(id, {
      id,
      serializer: object.serializer,
      nbytes: n,
      bytes: undefined,
      file,
      writing: false,
      unspillable: false,
      reading: undefined,
    });
    this.#spilledBytes += n;
    this.#spilledCount += 1;
  }

  /** Starts spilling least-recently-used results until what stays in memory is <= goal. */
  #evict(goal: number): void {
    const spiller = this.#spiller;
    const lru = this.#lru;
    if (spiller === undefined || lru === undefined || this.#closed) return;
    for (const id of lru) {
      if (this.#bytes - spiller.writingBytes <= goal) return;
      const entry = this.#entries.get(id);
      if (entry === undefined || entry.writing || entry.unspillable) continue;
      if (entry.file !== undefined) this.#dropFromMemory(entry); // clean copy on disk: free at once
      else spiller.write(entry);
    }
  }

  #dropFromMemory(entry: StoreEntry): void {
    if (entry.bytes !== undefined) letGoOf(entry.bytes);
    entry.bytes = undefined;
    this.#lru?.delete(entry.id);
    this.#bytes -= entry.nbytes;
    this.#spilledBytes += entry.nbytes;
    this.#spilledCount += 1;
    this.#changed();
  }

  /** Keeps a result read back from disk in memory again only if that does not push the store past its target. */
  #loaded(entry: StoreEntry, bytes: Uint8Array): void {
    const current = this.#entries.get(entry.id) === entry;
    if (current && entry.bytes === undefined && this.#bytes + entry.nbytes <= this.#targetBytes && !this.#closed) {
      entry.bytes = bytes;
      this.#lru?.add(entry.id);
      this.#bytes += entry.nbytes;
      this.#highWater = Math.max(this.#highWater, this.#bytes);
      this.#spilledBytes -= entry.nbytes;
      this.#spilledCount -= 1;
      this.#changed();
    }
  }

  #touch(id: string): void {
    const lru = this.#lru;
    if (lru === undefined) return;
    lru.delete(id);
    lru.add(id);
  }

  #full(id: string, n: number): FloeError {
    const why = this.#spiller === undefined ? '' : ' and nothing more can be spilled';
    const cause = this.#spiller?.lastError;
    return new FloeError(
      'LIMIT_EXCEEDED',
      `object store full: storing "${id}" (${n} bytes) would use ${this.#bytes + n} of ${this.#bytesMax} bytes (bytesMax)${why}`,
      { taskKey: id, ...(cause === undefined ? {} : { cause }) },
    );
  }

  #changed(): void {
    if (this.#onChange === undefined || this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      this.#onChange?.();
    });
  }
}

/** Shared memory (an input received for the pool threads) is freed only after a collection, which V8 does not see coming (util/collect.ts). */
function letGoOf(bytes: Uint8Array): void {
  if (bytes.buffer instanceof SharedArrayBuffer) letGoSoon(bytes.byteLength);
}
