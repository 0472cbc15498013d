/**
 * A set that is almost always tiny: a worker task's missing inputs (one for a chain's
 * task, two for a tree's), the tasks waiting for one result being made here (one, for a
 * chain). A Set costs an object and a hash table of its own, allocated per task on the
 * worker's path from an assignment to its pool thread (two per task of a chain, half of
 * the sets that path made); this keeps up to LIST_MAX members in a plain array, found by
 * comparison, and moves them into a Set when it grows past that, so a task with thousands
 * of inputs is not searched linearly.
 *
 * Members are compared with === (the worker keeps ids and task records in them) and
 * iterated in the order they were added, as in a Set; deleting from a SmallSet while
 * iterating over it is not supported (the worker's state machine never does).
 *
 * Task arguments use it too, for the containers seen while refs are patched in
 * (serde/args.ts decodeArgs).
 */
const LIST_MAX = 8;

export class SmallSet<T> implements Iterable<T> {
  #list: T[] = [];
  #set: Set<T> | undefined;

  get size(): number {
    return this.#set === undefined ? this.#list.length : this.#set.size;
  }

  has(value: T): boolean {
    return this.#set === undefined ? this.#list.includes(value) : this.#set.has(value);
  }

  add(value: T): this {
    const set = this.#set;
    if (set !== undefined) {
      set.add(value);
      return this;
    }
    const list = this.#list;
    if (list.includes(value)) return this;
    list.push(value);
    if (list.length > LIST_MAX) {
      this.#set = new Set(list);
      this.#list = [];
    }
    return this;
  }

  delete(value: T): boolean {
    if (this.#set !== undefined) return this.#set.delete(value);
    const i = this.#list.indexOf(value);
    if (i < 0) return false;
    // The others keep their order, as in a Set (a batch takes a result's waiters in it).
    this.#list.splice(i, 1);
    return true;
  }

  clear(): void {
    this.#list = [];
    this.#set = undefined;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.#set === undefined ? this.#list[Symbol.iterator]() : this.#set.values();
  }
}

/** What the worker's state check reads of a set (a Set or a SmallSet). */
export interface SetView<T> extends Iterable<T> {
  readonly size: number;
  has(value: T): boolean;
}
