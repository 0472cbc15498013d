/**
 * Bounded log of transitions, kept in parallel ring arrays so that logging a transition
 * allocates nothing.
 *
 * The stimulus id and time are kept once per event, not per transition: an event moves a
 * task through several states and often many tasks at once, and the stimulus id is a
 * fresh (young) string on every event, which the garbage collector would have to track
 * in every slot that refers to it. A transition stores its task id, and in typed arrays
 * (which the garbage collector never scans) its two states and the ring index of its event.
 */
import { STATE_NAMES as STATES } from './types.ts';
import type { StoryEntry, TaskStateName } from './types.ts';

const STATE_INDEX = Object.fromEntries(STATES.map((name, i) => [name, i])) as Record<TaskStateName, number>;

export class StoryLog {
  private readonly ids: string[] = [];
  /** Both states of each transition: from in the low 4 bits, to in the next 4. */
  private readonly states: Uint8Array;
  /** Index in the event ring of each transition's event. */
  private readonly eventOf: Int32Array;
  /** Next transition slot to write once the ring is full. */
  private head = 0;

  // The event ring: one slot per event that logged a transition. A transition still in
  // the log refers to an event recorded at most sizeMax events ago (every event recorded
  // since has a transition of its own after it), so a ring of sizeMax never loses one.
  private readonly stimuli: string[] = [];
  private readonly times: number[] = [];
  private eventHead = 0;
  /** Ring index of the last recorded event (-1 before any). */
  private lastEvent = -1;

  constructor(private readonly sizeMax: number) {
    const slots = Math.max(0, sizeMax);
    this.states = new Uint8Array(slots);
    this.eventOf = new Int32Array(slots);
  }

  add(id: string, from: TaskStateName, to: TaskStateName, stimulusId: string, nowMs: number): void {
    if (this.sizeMax <= 0) return;
    const last = this.lastEvent;
    // Two events with equal stimulus id and time share one record: their entries read the same.
    const event = last >= 0 && this.stimuli[last] === stimulusId && this.times[last] === nowMs ? last : this.addEvent(stimulusId, nowMs);
    const states = STATE_INDEX[from] | (STATE_INDEX[to] << 4);
    const n = this.ids.length;
    if (n < this.sizeMax) {
      this.ids.push(id);
      this.states[n] = states;
      this.eventOf[n] = event;
      return;
    }
    const i = this.head;
    this.ids[i] = id;
    this.states[i] = states;
    this.eventOf[i] = event;
    this.head = i + 1 === this.sizeMax ? 0 : i + 1;
  }

  private addEvent(stimulusId: string, nowMs: number): number {
    let i: number;
    if (this.stimuli.length < this.sizeMax) {
      i = this.stimuli.length;
      this.stimuli.push(stimulusId);
      this.times.push(nowMs);
    } else {
      i = this.eventHead;
      this.stimuli[i] = stimulusId;
      this.times[i] = nowMs;
      this.eventHead = i + 1 === this.sizeMax ? 0 : i + 1;
    }
    this.lastEvent = i;
    return i;
  }

  /** Entries for one task id, oldest first. */
  story(id: string): StoryEntry[] {
    const out: StoryEntry[] = [];
    const n = this.ids.length;
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) % n;
      if (this.ids[i] !== id) continue;
      const e = this.eventOf[i]!;
      const states = this.states[i]!;
      out.push({ id, from: STATES[states & 15]!, to: STATES[states >> 4]!, stimulusId: this.stimuli[e]!, nowMs: this.times[e]! });
    }
    return out;
  }
}
