/**
 * The keys a Submitter will ask the scheduler to keep (and report), in the order asked, each
 * once. A key's want goes out with the batch that sends its key, or with the next batch if
 * the key was sent already.
 *
 * Kept as the keys' states in an array, not as a set of keys: emptied for every batch, a set
 * of a big submission's keys grew anew each time, a large part of what submitting cost.
 * A state is added when it becomes wanted and stays until its want is taken, so it is never
 * added twice; only locate adds a key that is wanted already, and it checks for itself.
 */
import type { KeyState } from './future.ts';

export class Wants {
  private states: KeyState[] = [];
  /** Keys located since the last take. */
  private located: Set<string> | undefined;

  /** Wants the key of `state` unless it is wanted already; true if it was not. */
  add(state: KeyState): boolean {
    if (state.wanted) return false;
    state.wanted = true;
    this.states.push(state);
    return true;
  }

  /** Wants a finished key again (the scheduler answers with its location). */
  locate(state: KeyState): void {
    // It was sent wanted when it was submitted: only another locate can have added it since.
    this.located ??= new Set();
    if (this.located.has(state.key)) return;
    this.located.add(state.key);
    this.states.push(state);
  }

  /** Whether nothing is wanted but `key`. */
  onlyKey(key: string): boolean {
    for (const state of this.states) if (state.key !== key) return false;
    return true;
  }

  /**
   * Takes the wants whose keys are sent or being sent (Submitter.takeReady marks them); the
   * others wait for their keys. Read from the state, not looked up by key: a key released
   * since it was queued is no longer among the client's keys, and is still sent wanted.
   */
  take(): string[] {
    const keys: string[] = [];
    const waiting: KeyState[] = [];
    for (const state of this.states) {
      if (state.submitted) keys.push(state.key);
      else waiting.push(state);
    }
    this.states = waiting;
    this.located = undefined;
    return keys;
  }
}
