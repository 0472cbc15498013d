/**
 * Task progress for clients that asked for it (a submission with `progress`): each of
 * their tasks that is assigned (running), finishes (done) or fails, gathered per client
 * during a turn and sent with that turn's ClientUpdates. Nothing is gathered while no
 * client listens.
 */
import type { TaskProgress } from '../transport/messages.ts';
import { clientOf, keyOf } from '../graph/task-id.ts';

export class ProgressReporter {
  private readonly listening = new Set<string>();
  private pending = new Map<string, TaskProgress[]>();

  /** Whether any client listens (callers skip the per-task work otherwise). */
  get active(): boolean {
    return this.listening.size > 0;
  }

  listen(clientId: string): void {
    this.listening.add(clientId);
  }

  forget(clientId: string): void {
    this.listening.delete(clientId);
    this.pending.delete(clientId);
  }

  /** Records what happened to task `id` (`${clientId}/${key}`) if its client listens. */
  report(id: string, kind: TaskProgress['kind']): void {
    const clientId = clientOf(id);
    if (!this.listening.has(clientId)) return;
    let list = this.pending.get(clientId);
    if (list === undefined) {
      list = [];
      this.pending.set(clientId, list);
    }
    list.push({ key: keyOf(id), kind });
  }

  /** Everything gathered since the last call, by client. */
  take(): Map<string, TaskProgress[]> {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }
}
