/**
 * Maps and sets that live long while entries come and go by the thousand (a process's
 * tasks, runs, held results), made so that what they held can die young.
 *
 * V8 keeps a Map's or Set's hash table in a separate object. When the table is replaced
 * (it grew, shrank, or filled with deleted entries) the old one is linked to its
 * replacement and keeps its entries (live iterators follow the link). A full collection
 * moves every live object to the old generation, tables included; once such a table is
 * replaced it is garbage a scavenge cannot tell from a live object, so its link keeps the
 * next table alive, that one the next, and every entry any of them held. Everything the
 * collection held since the last full collection then survives every scavenge and is
 * promoted. In a worker in task-lag rounds, 20–24 MB survived each scavenge this way (44%
 * of what was allocated since the one before, `--trace-gc-nvp`), and each took 25–70 ms.
 *
 * A ChurnMap (ChurnSet) starts a new collection of its own when it becomes empty (after
 * RENEW_EMPTY_MIN deletions at least), and copies itself into a new one once it has had
 * more than RENEW_FACTOR times as many deletions as it holds (and RENEW_AFTER_MIN at
 * least). The new one's tables are not linked from the old ones, so what it holds from
 * then on can die young; what the old one held stays until a full collection, as before.
 * Copying costs at most one insertion per RENEW_FACTOR deletions. Where it is used: the
 * worker's and the scheduler's per-task state, the client's keys, and the worker pool's
 * aborts of running batches (each a closure that reaches its whole batch).
 *
 * An iteration that is under way when the collection starts anew goes on over the old
 * one: do not delete entries not visited yet from inside a loop over the collection.
 */

/** Deletions before an emptied collection starts anew: one that empties with every task (a lone round trip's) would make a new one each time. */
const RENEW_EMPTY_MIN = 64;
/** Deletions before a collection that is not empty is copied (small ones are not worth it). */
const RENEW_AFTER_MIN = 1024;
/**
 * Deletions per entry held before it is copied. With 2, releasing a million scheduler
 * records at once (bench/scheduler-child.ts) took 0.5 µs more per record than with a Map.
 */
const RENEW_FACTOR = 8;

/** Whether a collection now holding `size` entries, after `deletes` deletions since it started anew, starts anew. */
function renews(size: number, deletes: number): boolean {
  return size === 0 ? deletes >= RENEW_EMPTY_MIN : deletes >= RENEW_AFTER_MIN && deletes > RENEW_FACTOR * size;
}

/** What ChurnMap and ChurnSet share: the collection now, and when to start a new one. */
abstract class Churning<C extends Map<unknown, unknown> | Set<unknown>> {
  protected current: C;
  #deletes = 0;

  constructor(current: C) {
    this.current = current;
  }

  /** A new collection: empty, or a copy of `from`. */
  protected abstract renewed(from: C | undefined): C;

  get size(): number {
    return this.current.size;
  }

  clear(): void {
    this.current = this.renewed(undefined);
    this.#deletes = 0;
  }

  /** After each deletion: starts anew when it is time (renews). */
  protected deleted(): void {
    if (!renews(this.current.size, ++this.#deletes)) return;
    this.current = this.renewed(this.current.size === 0 ? undefined : this.current);
    this.#deletes = 0;
  }
}

export class ChurnMap<K, V> extends Churning<Map<K, V>> implements Map<K, V> {
  constructor(entries?: Iterable<readonly [K, V]>) {
    super(new Map(entries));
  }

  protected renewed(from: Map<K, V> | undefined): Map<K, V> {
    return new Map(from);
  }

  get(key: K): V | undefined {
    return this.current.get(key);
  }

  has(key: K): boolean {
    return this.current.has(key);
  }

  set(key: K, value: V): this {
    this.current.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.current.delete(key)) return false;
    this.deleted();
    return true;
  }

  forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.current) fn.call(thisArg, value, key, this);
  }

  keys(): MapIterator<K> {
    return this.current.keys();
  }

  values(): MapIterator<V> {
    return this.current.values();
  }

  entries(): MapIterator<[K, V]> {
    return this.current.entries();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.current[Symbol.iterator]();
  }

  get [Symbol.toStringTag](): string {
    return 'ChurnMap';
  }
}

export class ChurnSet<T> extends Churning<Set<T>> implements Set<T> {
  constructor(values?: Iterable<T>) {
    super(new Set(values));
  }

  protected renewed(from: Set<T> | undefined): Set<T> {
    return new Set(from);
  }

  has(value: T): boolean {
    return this.current.has(value);
  }

  add(value: T): this {
    this.current.add(value);
    return this;
  }

  delete(value: T): boolean {
    if (!this.current.delete(value)) return false;
    this.deleted();
    return true;
  }

  forEach(fn: (value: T, value2: T, set: Set<T>) => void, thisArg?: unknown): void {
    for (const value of this.current) fn.call(thisArg, value, value, this);
  }

  keys(): SetIterator<T> {
    return this.current.keys();
  }

  values(): SetIterator<T> {
    return this.current.values();
  }

  entries(): SetIterator<[T, T]> {
    return this.current.entries();
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.current[Symbol.iterator]();
  }

  get [Symbol.toStringTag](): string {
    return 'ChurnSet';
  }
}
