/**
 * Reads `perf sched timehist` (one line each time a thread leaves a CPU) into, per process
 * and per time window, how long its threads ran and how long they waited for a CPU while
 * ready to run (the scheduling delay: from the wakeup to the switch-in). bench/sched-wait.ts
 * prints it for task-lag rounds. Pure: no perf, no clocks here.
 */

/** One switch-out of a thread: it ran `runMs` up to `time`, after waiting `delayMs` for a CPU since its wakeup. */
export interface SwitchOut {
  /** Seconds, on the clock perf recorded with (`-k mono`: CLOCK_MONOTONIC, as process.hrtime). */
  time: number;
  tid: number;
  pid: number;
  delayMs: number;
  runMs: number;
}

/** `   20869.004281 [0001]  node[22139/22107]     0.000      0.009      0.044 ` (thread/process, or one id when they are the same). */
const LINE = /^\s*(\d+\.\d+)\s+\[\d+\]\s+.*?\[(\d+)(?:\/(\d+))?\]\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)/;

export function parseTimehist(text: string): SwitchOut[] {
  const out: SwitchOut[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const tid = Number(m[2]);
    out.push({ time: Number(m[1]), tid, pid: m[3] === undefined ? tid : Number(m[3]), delayMs: Number(m[5]), runMs: Number(m[6]) });
  }
  return out;
}

export interface ProcessTime {
  /** CPU time of all its threads, ms. */
  runMs: number;
  /** Time its threads were ready and waited for a CPU, ms (summed over threads). */
  waitMs: number;
  /** The same for its main thread alone (thread id = process id). */
  mainRunMs: number;
  mainWaitMs: number;
  /** The longest single wait of its main thread, ms. */
  mainWaitMaxMs: number;
}

/** Length of [a0, a1] ∩ [b0, b1] in ms (seconds in). */
function overlapMs(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0)) * 1000;
}

/**
 * Run and wait time per process name (`names`: pid → name; other processes are left out),
 * summed over `windows` ([start, end] seconds), each interval clipped to them.
 */
export function timeInWindows(events: readonly SwitchOut[], names: ReadonlyMap<number, string>, windows: ReadonlyArray<readonly [number, number]>): Map<string, ProcessTime> {
  const out = new Map<string, ProcessTime>();
  for (const name of names.values()) out.set(name, { runMs: 0, waitMs: 0, mainRunMs: 0, mainWaitMs: 0, mainWaitMaxMs: 0 });
  for (const e of events) {
    const name = names.get(e.pid);
    if (name === undefined) continue;
    const p = out.get(name)!;
    const runStart = e.time - e.runMs / 1000;
    const waitStart = runStart - e.delayMs / 1000;
    const main = e.tid === e.pid;
    for (const [w0, w1] of windows) {
      const run = overlapMs(runStart, e.time, w0, w1);
      const wait = overlapMs(waitStart, runStart, w0, w1);
      p.runMs += run;
      p.waitMs += wait;
      if (!main) continue;
      p.mainRunMs += run;
      p.mainWaitMs += wait;
      if (wait > p.mainWaitMaxMs) p.mainWaitMaxMs = wait;
    }
  }
  return out;
}
