/**
 * Progress of flows, for bars and dashboards: `client.on('progress', listener)` gets a
 * FlowProgress whenever tasks of a running flow start, finish or fail, and once more
 * when the flow ends. The coordinator reports task progress only to clients with a
 * listener (the `progress` flag on their submissions), so it costs nothing otherwise.
 */
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
