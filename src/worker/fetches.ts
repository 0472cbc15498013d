/**
 * The results a worker fetches from other workers (worker/state.ts): one fetch per result,
 * shared by the tasks here that wait for it and by a replica the scheduler asked for; at
 * most `transfersMax` in flight, the rest waiting for a transfer slot in the order they
 * were wanted.
 */
import type { WorkerCommand, WorkerTask } from './state-types.ts';
import { ChurnMap } from '../util/churn-map.ts';

interface Fetch {
  addresses: string[];
  started: boolean;
  waiters: Set<WorkerTask>;
}

/** What a fetch leaves when it ends: the tasks that waited for it, and whether the scheduler asked for the result as a replica. */
export interface FetchEnd {
  waiters: ReadonlySet<WorkerTask>;
  replica: boolean;
}

export class Fetches {
  /** Fetches in flight or waiting for a transfer slot, by result id. */
  readonly byId = new ChurnMap<string, Fetch>();
  /** Results being fetched as replicas for the scheduler (answered with reportReplicated). */
  readonly replicas = new Set<string>();
  /** Fetches in flight. */
  transfers = 0;

  constructor(private readonly transfersMax: number) {}

  /** `task` waits for result `id`, held by `holders` (fetched once for all its waiters). */
  wait(id: string, holders: readonly { address: string }[], task: WorkerTask): void {
    let fetch = this.byId.get(id);
    if (fetch === undefined) {
      fetch = { addresses: addressesOf(holders.map((h) => h.address)), started: false, waiters: new Set() };
      this.byId.set(id, fetch);
    }
    fetch.waiters.add(task);
  }

  /** `task` no longer waits for `id` (the fetch goes on: the result may be wanted again). */
  unwait(id: string, task: WorkerTask): void {
    this.byId.get(id)?.waiters.delete(task);
  }

  /** The scheduler asked for a copy of `id`, not held here; it shares an input fetch queued or in flight for it. */
  replicate(id: string, addresses: readonly string[]): void {
    this.replicas.add(id);
    if (!this.byId.has(id)) this.byId.set(id, { addresses: addressesOf(addresses), started: false, waiters: new Set() });
  }

  /** A fetch ended (fetched or failed): what it leaves; undefined if none was in flight for `id`. */
  end(id: string): FetchEnd | undefined {
    const fetch = this.byId.get(id);
    if (fetch === undefined) return undefined;
    this.byId.delete(id);
    this.transfers -= 1;
    return { waiters: fetch.waiters, replica: this.replicas.delete(id) };
  }

  /** Starts waiting fetches while transfer slots are free. */
  start(sid: string, out: WorkerCommand[]): void {
    for (const [id, fetch] of this.byId) {
      if (this.transfers >= this.transfersMax) break;
      if (fetch.started) continue;
      fetch.started = true;
      this.transfers += 1;
      out.push({ type: 'fetch', stimulusId: sid, id, addresses: fetch.addresses });
    }
  }
}

/** A holder without an address (this worker's own, in tests) is no place to fetch from. */
function addressesOf(addresses: readonly string[]): string[] {
  return addresses.filter((x) => x !== '');
}
