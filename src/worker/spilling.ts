/**
 * The object store's disk side (worker/store.ts keeps the memory side): writes results
 * out to spill storage (worker/spill.ts) in the background, loads them back, removes their
 * files, and tracks all disk I/O so the store can wait for room (put) or for quiet (idle,
 * close). It decides nothing about memory: the store picks what to spill, and once a write
 * or a read lands the spiller hands the entry back through SpillHost, which checks that
 * the entry is still the stored one and does the byte accounting.
 */
import { FloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import type { SpillStorage } from './spill.ts';

/** One result the object store holds: in memory, on disk, or both. */
export interface StoreEntry {
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

/** What the spiller needs of the store it works for. */
export interface SpillHost {
  /** Whether `entry` is still the one stored under its id (not deleted or replaced since). */
  holds(entry: StoreEntry): boolean;
  /** `entry.file` is now a complete copy: its bytes may leave memory. */
  spilled(entry: StoreEntry): void;
  /** A spilled entry's bytes were read back: the store decides whether they stay in memory. */
  loaded(entry: StoreEntry, bytes: Uint8Array): void;
}

export class Spiller {
  readonly #storage: SpillStorage;
  readonly #host: SpillHost;
  readonly #onError: ((error: unknown, id: string) => void) | undefined;
  /** All disk I/O in flight; settles never reject. */
  readonly #io = new Set<Promise<void>>();
  /** Spill writes in flight; put() waits on them for room. */
  readonly #writes = new Set<Promise<void>>();
  #writingBytes = 0;
  #lastError: unknown;

  constructor(storage: SpillStorage, host: SpillHost, onError?: (error: unknown, id: string) => void) {
    this.#storage = storage;
    this.#host = host;
    this.#onError = onError;
  }

  /** Bytes of results being written out (still in memory until their write lands). */
  get writingBytes(): number {
    return this.#writingBytes;
  }

  /** Whether a background write is in flight (one that nextWrite() waits for). */
  get writing(): boolean {
    return this.#writes.size > 0;
  }

  /** The last failed write's error, if any: the cause of a later LIMIT_EXCEEDED. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Resolves when one of the background writes in flight lands (or fails). */
  nextWrite(): Promise<void> {
    return Promise.race(this.#writes);
  }

  /** Starts writing an in-memory entry out in the background; SpillHost.spilled follows. */
  write(entry: StoreEntry): void {
    const bytes = entry.bytes;
    if (bytes === undefined) return;
    entry.writing = true;
    this.#writingBytes += entry.nbytes;
    const done = this.#storage.write(entry.id, bytes).then(
      (file) => this.#written(entry, file),
      (error: unknown) => this.#writeFailed(entry, error),
    );
    this.#writes.add(done);
    this.#track(done);
    void done.finally(() => this.#writes.delete(done));
  }

  /** Writes bytes that never go into memory; resolves to their file, rejects as the storage does. */
  writeFile(id: string, bytes: Uint8Array): Promise<string> {
    const write = this.#storage.write(id, bytes);
    this.#track(write.then(() => undefined));
    return write;
  }

  /** Reads a spilled entry back and offers it to SpillHost.loaded. */
  async load(entry: StoreEntry): Promise<Uint8Array> {
    const file = entry.file;
    if (file === undefined) throw new FloeError('INTERNAL', `object ${entry.id} is neither in memory nor spilled`);
    const read = this.#storage.read(entry.id, file, entry.nbytes);
    this.#track(read.then(() => undefined));
    try {
      const bytes = await read;
      this.#host.loaded(entry, bytes);
      return bytes;
    } finally {
      entry.reading = undefined;
    }
  }

  /** Removes a spilled copy in the background. */
  remove(file: string): void {
    this.#track(this.#storage.remove(file));
  }

  /** The store deleted `entry`: its write in flight no longer counts, its file goes. */
  discard(entry: StoreEntry): void {
    if (entry.writing) this.#writingBytes -= entry.nbytes; // the write removes its own file
    if (entry.file !== undefined) this.remove(entry.file);
  }

  /** Resolves when no disk I/O is in flight. */
  async idle(): Promise<void> {
    while (this.#io.size > 0) await Promise.all([...this.#io]);
  }

  /** Waits for disk I/O, then removes everything spilled. */
  async close(): Promise<void> {
    await this.idle();
    await this.#storage.close();
  }

  #written(entry: StoreEntry, file: string): void {
    entry.writing = false;
    if (!this.#host.holds(entry)) {
      this.remove(file); // deleted (or replaced) while being written
      return;
    }
    this.#writingBytes -= entry.nbytes;
    entry.file = file;
    this.#host.spilled(entry);
  }

  #writeFailed(entry: StoreEntry, error: unknown): void {
    entry.writing = false;
    this.#lastError = error;
    if (!this.#host.holds(entry)) return;
    this.#writingBytes -= entry.nbytes;
    entry.unspillable = true;
    this.#onError?.(error, entry.id);
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
}
