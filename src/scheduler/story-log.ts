/**
 * Bounded log of transitions, kept in parallel ring arrays so that logging a transition
 * allocates nothing and writes no reference the garbage collector must track.
 *
 * A transition names its task by the record's `seq` (unique for the scheduler's life), in
 * a typed array, with its two states and the ring index of its event. Task ids are
 * strings: a young string written into a long-lived array on every transition cost the
 * garbage collector more than the rest of the log (about 1.5 µs per task in
 * `bench/scheduler.ts`). So an id is written once per record, when the record is
 * forgotten (`forgot`), into a ring of names; while a record lives, the caller gives its
 * seq to `story` instead. A forgotten record's name is written after all of its
 * transitions, so its name outlives them in the rings: every entry still logged can be
 * read back under its id.
 *
 * The stimulus id and time are kept once per event, not per transition: an event moves a
 * task through several states and often many tasks at once.
 */
import { STATE_NAMES as STATES, stateIndex } from './types.ts';
import type { StoryEntry, TaskStateName } from './types.ts';


/** A ring of `size` slots: the slot to write next and how many are in use. */
class Ring {
  next = 0;
  used = 0;

  constructor(readonly size: number) {}

  /** Claims the next slot (the oldest once full). */
  claim(): number {
    const i = this.next;
    this.next = i + 1 === this.size ? 0 : i + 1;
    if (this.used < this.size) this.used++;
    return i;
  }

  /** Slot of the k-th oldest entry. */
  at(k: number): number {
    return this.used < this.size ? k : (this.next + k) % this.size;
  }
}

export class StoryLog {
  // Transitions.
  private readonly transitions: Ring;
  /** Seq of each transition's task record. */
  private readonly seqs: Float64Array;
  /** Both states of each transition: from in the low 4 bits, to in the next 4. */
  private readonly states: Uint8Array;
  /** Index in the event ring of each transition's event. */
  private readonly eventOf: Int32Array;

  // Events: one slot per event that logged a transition. A transition still in the log
  // refers to an event recorded at most sizeMax events ago (every event recorded since has
  // a transition of its own after it), so a ring of sizeMax never loses one.
  private readonly events: Ring;
  private readonly stimuli: string[];
  private readonly times: Float64Array;
  /** Ring index of the last recorded event (-1 before any). */
  private lastEvent = -1;

  // Names of forgotten records.
  private readonly names: Ring;
  private readonly nameIds: string[];
  private readonly nameSeqs: Float64Array;

  constructor(private readonly sizeMax: number) {
    const slots = Math.max(0, sizeMax);
    this.transitions = new Ring(slots);
    this.seqs = new Float64Array(slots);
    this.states = new Uint8Array(slots);
    this.eventOf = new Int32Array(slots);
    this.events = new Ring(slots);
    this.stimuli = new Array<string>(slots).fill('');
    this.times = new Float64Array(slots);
    this.names = new Ring(slots);
    this.nameIds = new Array<string>(slots).fill('');
    this.nameSeqs = new Float64Array(slots);
  }

  add(seq: number, from: TaskStateName, to: TaskStateName, stimulusId: string, nowMs: number): void {
    if (this.sizeMax <= 0) return;
    const last = this.lastEvent;
    // Two events with equal stimulus id and time share one record: their entries read the same.
    const event = last >= 0 && this.stimuli[last] === stimulusId && this.times[last] === nowMs ? last : this.addEvent(stimulusId, nowMs);
    const i = this.transitions.claim();
    this.seqs[i] = seq;
    this.states[i] = stateIndex(from) | (stateIndex(to) << 4);
    this.eventOf[i] = event;
  }

  /** The record `seq` of task `id` is gone; call after its last transition is logged. */
  forgot(seq: number, id: string): void {
    if (this.sizeMax <= 0) return;
    const i = this.names.claim();
    this.nameIds[i] = id;
    this.nameSeqs[i] = seq;
  }

  private addEvent(stimulusId: string, nowMs: number): number {
    const i = this.events.claim();
    this.stimuli[i] = stimulusId;
    this.times[i] = nowMs;
    this.lastEvent = i;
    return i;
  }

  /** Entries for task `id` (`liveSeq`: the seq of its current record, if any), oldest first. */
  story(id: string, liveSeq?: number): StoryEntry[] {
    const wanted = new Set<number>();
    if (liveSeq !== undefined) wanted.add(liveSeq);
    for (let k = 0; k < this.names.used; k++) {
      const i = this.names.at(k);
      if (this.nameIds[i] === id) wanted.add(this.nameSeqs[i]!);
    }
    const out: StoryEntry[] = [];
    if (wanted.size === 0) return out;
    for (let k = 0; k < this.transitions.used; k++) {
      const i = this.transitions.at(k);
      if (!wanted.has(this.seqs[i]!)) continue;
      const e = this.eventOf[i]!;
      const states = this.states[i]!;
      out.push({ id, from: STATES[states & 15]!, to: STATES[states >> 4]!, stimulusId: this.stimuli[e]!, nowMs: this.times[e]! });
    }
    return out;
  }
}
