/**
 * Bounded log of transitions, kept in parallel ring arrays so that logging a transition
 * allocates nothing.
 */
import type { StoryEntry, TaskStateName } from './types.ts';

export class StoryLog {
  private readonly ids: string[] = [];
  private readonly froms: TaskStateName[] = [];
  private readonly tos: TaskStateName[] = [];
  private readonly stimuli: string[] = [];
  private readonly times: number[] = [];
  /** Next slot to write once the ring is full. */
  private head = 0;

  constructor(private readonly sizeMax: number) {}

  add(id: string, from: TaskStateName, to: TaskStateName, stimulusId: string, nowMs: number): void {
    if (this.sizeMax <= 0) return;
    if (this.ids.length < this.sizeMax) {
      this.ids.push(id);
      this.froms.push(from);
      this.tos.push(to);
      this.stimuli.push(stimulusId);
      this.times.push(nowMs);
      return;
    }
    const i = this.head;
    this.ids[i] = id;
    this.froms[i] = from;
    this.tos[i] = to;
    this.stimuli[i] = stimulusId;
    this.times[i] = nowMs;
    this.head = (i + 1) % this.sizeMax;
  }

  /** Entries for one task id, oldest first. */
  story(id: string): StoryEntry[] {
    const out: StoryEntry[] = [];
    const n = this.ids.length;
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) % n;
      if (this.ids[i] !== id) continue;
      out.push({ id, from: this.froms[i]!, to: this.tos[i]!, stimulusId: this.stimuli[i]!, nowMs: this.times[i]! });
    }
    return out;
  }
}
