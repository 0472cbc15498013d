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
 */
import { FloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import type { SpillStorage } from './spill.ts';

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

interface Entry {
  readonly id: string;
  readonly serializer: SerializerRef;
  readonly nbytes: number;
  /** Set while the bytes are in memory. */
  bytes: Uint8Array | undefined;
  /** Handle of the complete spilled copy, if any. */
  file: string | undefined;
  /** A spill write is in flight (its bytes still count in memory). */
  writing: boolean;
  /** A write failed: never tried again (the medium is likely full or broken). */
  unspillable: boolean;
  /** A load from disk in flight, shared by concurrent gets. */
  reading: Promise<Uint8Array> | undefined;
}

interface Pending {
  done: Promise<void>;
}

export class ObjectStore {
  readonly #entries = new Map<string, Entry>();
  /** Ids whose bytes are in memory, least recently used first. */
  readonly #lru = new Set<string>();
  /** Puts waiting for room (or writing an oversized result), by id; delete() cancels them. */
  readonly #pending = new Map<string, Pending>();
  /** All disk I/O in flight; settles never reject. */
  readonly #io = new Set<Promise<void>>();
  /** Spill writes in flight; put() waits on them for room. */
  readonly #writes = new Set<Promise<void>>();
  readonly #bytesMax: number;
  readonly #targetBytes: number;
  readonly #spill: SpillStorage | undefined;
  readonly #onChange: (() => void) | undefined;
  readonly #onSpillError: ((error: unknown, id: string) => void) | undefined;
  #bytes = 0;
  #writingBytes = 0;
  #spilledBytes = 0;
  #spilledCount = 0;
  #highWater = 0;
  #lastSpillError: unknown;
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
    this.#spill = options.spill;
    this.#onChange = options.onChange;
    this.#onSpillError = options.onSpillError;
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
    if (this.#spill === undefined) throw this.#full(id, n);
    // The record is the token: a delete() (or a newer put) while waiting replaces or removes it.
    const pending: Pending = { done: Promise.resolve() };
    this.#pending.set(id, pending);
    const current = (): boolean => this.#pending.get(id) === pending;
    pending.done = n > this.#bytesMax ? this.#putOnDisk(id, object, this.#spill, current) : this.#putWhenRoom(id, object, current);
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
    entry.reading ??= this.#load(entry);
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
    const wasPending = this.#pending.delete(id);
    const entry = this.#entries.get(id);
    if (entry === undefined) return wasPending;
    this.#entries.delete(id);
    if (entry.bytes !== undefined) {
      this.#lru.delete(id);
      this.#bytes -= entry.nbytes;
      if (entry.writing) this.#writingBytes -= entry.nbytes; // the write removes its own file
      this.#changed();
    } else {
      this.#spilledBytes -= entry.nbytes;
      this.#spilledCount -= 1;
    }
    if (entry.file !== undefined && this.#spill !== undefined) this.#track(this.#spill.remove(entry.file));
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

  /** Resolves when no disk I/O is in flight (tests; close()). */
  async idle(): Promise<void> {
    while (this.#io.size > 0) await Promise.all([...this.#io]);
  }

  /** Waits for disk I/O, then removes everything spilled. The store is unusable after. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.idle();
    await this.#spill?.close();
  }

  #insert(id: string, object: StoredObject): void {
    const n = object.bytes.byteLength;
    const entry: Entry = {
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
    this.#lru.add(id);
    this.#bytes += n;
    this.#highWater = Math.max(this.#highWater, this.#bytes);
    this.#changed();
    this.#evict(this.#targetBytes);
  }

  /** Makes room by spilling (waiting for writes to land), then inserts; no await between check and insert. */
  async #putWhenRoom(id: string, object: StoredObject, current: () => boolean): Promise<void> {
    const n = object.bytes.byteLength;
    for (;;) {
      if (this.#bytes + n <= this.#bytesMax) {
        this.#insert(id, object);
        return;
      }
      this.#evict(this.#bytesMax - n);
      if (this.#writes.size === 0) throw this.#full(id, n);
      await Promise.race(this.#writes);
      if (!current()) return; // deleted or replaced while waiting
      if (this.#closed) throw new FloeError('LIMIT_EXCEEDED', `cannot store ${id}: the object store is closed`, { taskKey: id });
    }
  }

  /** A result larger than the whole limit: straight to disk, never counted in memory. */
  async #putOnDisk(id: string, object: StoredObject, spill: SpillStorage, current: () => boolean): Promise<void> {
    const write = spill.write(id, object.bytes);
    this.#track(write.then(() => undefined));
    let file: string;
    try {
      file = await write;
    } catch (error) {
      throw new FloeError(
        'LIMIT_EXCEEDED',
        `result ${id} (${object.bytes.byteLength} bytes) is larger than the memory limit (${this.#bytesMax} bytes) and could not be spilled`,
        { cause: error, taskKey: id },
      );
    }
    if (!current() || this.#closed) {
      this.#track(spill.remove(file));
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
    const spill = this.#spill;
    if (spill === undefined || this.#closed) return;
    for (const id of this.#lru) {
      if (this.#bytes - this.#writingBytes <= goal) return;
      const entry = this.#entries.get(id);
      if (entry === undefined || entry.writing || entry.unspillable) continue;
      if (entry.file !== undefined) this.#dropFromMemory(entry); // clean copy on disk: free at once
      else this.#startWrite(entry, spill);
    }
  }

  #startWrite(entry: Entry, spill: SpillStorage): void {
    const bytes = entry.bytes;
    if (bytes === undefined) return;
    entry.writing = true;
    this.#writingBytes += entry.nbytes;
    const done = spill.write(entry.id, bytes).then(
      (file) => this.#written(entry, file, spill),
      (error: unknown) => this.#writeFailed(entry, error),
    );
    this.#writes.add(done);
    this.#track(done);
    void done.finally(() => this.#writes.delete(done));
  }

  #written(entry: Entry, file: string, spill: SpillStorage): void {
    entry.writing = false;
    if (this.#entries.get(entry.id) !== entry) {
      this.#track(spill.remove(file)); // deleted (or replaced) while being written
      return;
    }
    this.#writingBytes -= entry.nbytes;
    entry.file = file;
    this.#dropFromMemory(entry);
    this.#evict(this.#targetBytes);
  }

  #writeFailed(entry: Entry, error: unknown): void {
    entry.writing = false;
    this.#lastSpillError = error;
    if (this.#entries.get(entry.id) !== entry) return;
    this.#writingBytes -= entry.nbytes;
    entry.unspillable = true;
    this.#onSpillError?.(error, entry.id);
  }

  #dropFromMemory(entry: Entry): void {
    entry.bytes = undefined;
    this.#lru.delete(entry.id);
    this.#bytes -= entry.nbytes;
    this.#spilledBytes += entry.nbytes;
    this.#spilledCount += 1;
    this.#changed();
  }

  async #load(entry: Entry): Promise<Uint8Array> {
    const spill = this.#spill;
    const file = entry.file;
    if (spill === undefined || file === undefined) {
      throw new FloeError('INTERNAL', `object ${entry.id} is neither in memory nor spilled`);
    }
    const read = spill.read(entry.id, file, entry.nbytes);
    this.#track(read.then(() => undefined));
    try {
      const bytes = await read;
      // Keep it in memory again only if that does not push the store past its target.
      const current = this.#entries.get(entry.id) === entry;
      if (current && entry.bytes === undefined && this.#bytes + entry.nbytes <= this.#targetBytes && !this.#closed) {
        entry.bytes = bytes;
        this.#lru.add(entry.id);
        this.#bytes += entry.nbytes;
        this.#highWater = Math.max(this.#highWater, this.#bytes);
        this.#spilledBytes -= entry.nbytes;
        this.#spilledCount -= 1;
        this.#changed();
      }
      return bytes;
    } finally {
      entry.reading = undefined;
    }
  }

  #touch(id: string): void {
    this.#lru.delete(id);
    this.#lru.add(id);
  }

  #full(id: string, n: number): FloeError {
    const why = this.#spill === undefined ? '' : ' and nothing more can be spilled';
    return new FloeError(
      'LIMIT_EXCEEDED',
      `object store full: storing "${id}" (${n} bytes) would use ${this.#bytes + n} of ${this.#bytesMax} bytes (bytesMax)${why}`,
      { taskKey: id, ...(this.#lastSpillError === undefined ? {} : { cause: this.#lastSpillError }) },
    );
  }

  /** Tracks I/O for idle()/close(); the tracked promise never rejects. */
  #track(p: Promise<void>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.#io.add(settled);
    void settled.then(() => this.#io.delete(settled));
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
