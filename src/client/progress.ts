/**
 * Progress of flows, for bars and dashboards: `client.on('progress', listener)` gets a
 * FlowProgress whenever tasks of a running flow start, finish or fail, and once more
 * when the flow ends. The coordinator reports task progress only to clients with a
 * listener (the `progress` flag on their submissions), so it costs nothing otherwise.
 */
import { listenerThrew } from './listener-error.ts';
import type { TaskProgress } from '../transport/messages.ts';

export interface FlowProgress {
  /** The flow's name. */
  flow: string;
  /** Distinguishes runs of the same flow on one client. */
  runId: number;
  /** Tasks in the flow so far (a fan-out over a future's value adds tasks as it expands). */
  total: number;
  done: number;
  failed: number;
  /** Tasks a worker has been given and not finished. */
  running: number;
  /** True in the last event of a run. */
  ended: boolean;
}

export type ProgressListener = (progress: FlowProgress) => void;

type TaskPhase = 'pending' | TaskProgress['kind'];

/** One flow run's tasks and what is known about each. */
export class FlowTracker {
  private readonly phases = new Map<string, TaskPhase>();
  private counts = { done: 0, failed: 0, running: 0 };

  constructor(
    readonly flow: string,
    readonly runId: number,
  ) {}

  add(key: string): void {
    if (!this.phases.has(key)) this.phases.set(key, 'pending');
  }

  /** Records what happened to a task; false when nothing changed. */
  update(key: string, kind: TaskProgress['kind']): boolean {
    const before = this.phases.get(key);
    if (before === undefined || before === kind || before === 'done') return false;
    if (before !== 'pending') this.counts[before] -= 1;
    this.counts[kind] += 1;
    this.phases.set(key, kind);
    return true;
  }

  keys(): IterableIterator<string> {
    return this.phases.keys();
  }

  snapshot(ended: boolean): FlowProgress {
    return { flow: this.flow, runId: this.runId, total: this.phases.size, ...this.counts, ended };
  }
}

/**
 * A client's progress listeners and the flow runs it tracks for them (by task key).
 * The client feeds it the coordinator's task progress and its own key updates.
 */
export class ProgressHub {
  private readonly listeners = new Set<ProgressListener>();
  private readonly trackers = new Map<string, FlowTracker>();
  private runSeq = 0;

  /** Someone listens: submissions ask the coordinator for task progress. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Some flow run is tracked: key updates are worth looking at. */
  get tracking(): boolean {
    return this.trackers.size > 0;
  }

  addListener(listener: ProgressListener): void {
    this.listeners.add(listener);
  }

  removeListener(listener: ProgressListener): void {
    this.listeners.delete(listener);
  }

  /** A flow run to report progress for, or undefined when nobody listens. */
  trackFlow(flow: string): FlowTracker | undefined {
    if (this.listeners.size === 0) return undefined;
    this.runSeq += 1;
    return new FlowTracker(flow, this.runSeq);
  }

  /** Adds a task of a tracked flow. */
  trackKey(tracker: FlowTracker, key: string): void {
    tracker.add(key);
    this.trackers.set(key, tracker);
  }

  /** The flow ended: its last event. */
  untrackFlow(tracker: FlowTracker): void {
    for (const key of tracker.keys()) if (this.trackers.get(key) === tracker) this.trackers.delete(key);
    this.emit(tracker.snapshot(true));
  }

  /** Task progress (from the coordinator, or a key update): listeners of changed runs hear of it. */
  report(progress: readonly TaskProgress[]): void {
    if (this.trackers.size === 0) return;
    const changed = new Set<FlowTracker>();
    for (const p of progress) {
      const tracker = this.trackers.get(p.key);
      if (tracker?.update(p.key, p.kind) === true) changed.add(tracker);
    }
    for (const tracker of changed) this.emit(tracker.snapshot(false));
  }

  private emit(progress: FlowProgress): void {
    for (const listener of this.listeners) {
      try {
        listener(progress);
      } catch (error) {
        // A listener's bug must not break the client's message handling, nor go unseen.
        listenerThrew(`a progress listener (flow ${progress.flow})`, error);
      }
    }
  }
}
