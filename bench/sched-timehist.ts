/**
 * Reads `perf sched timehist` (one line each time a thread leaves a CPU) into, per process
 * and per time window, how long its threads ran and how long they waited for a CPU while
 * ready to run (the scheduling delay: from the wakeup to the switch-in). bench/sched-wait.ts
 * prints it for task-lag rounds; bench/latency-tail.ts prints, for the slowest round trips,
 * what ran on each CPU and which threads waited (windowView). Pure: no perf, no clocks here.
 */

/** One switch-out of a thread: it ran `runMs` up to `time`, after waiting `delayMs` for a CPU since its wakeup. */
export interface SwitchOut {
  /** Seconds, on the clock perf recorded with (`-k mono`: CLOCK_MONOTONIC, as process.hrtime). */
  time: number;
  cpu: number;
  tid: number;
  pid: number;
  delayMs: number;
  runMs: number;
}

/** `   20869.004281 [0001]  node[22139/22107]     0.000      0.009      0.044 ` (thread/process, or one id when they are the same). */
const LINE = /^\s*(\d+\.\d+)\s+\[(\d+)\]\s+.*?\[(\d+)(?:\/(\d+))?\]\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)/;

export function parseTimehist(text: string): SwitchOut[] {
  const out: SwitchOut[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const tid = Number(m[3]);
    out.push({ time: Number(m[1]), cpu: Number(m[2]), tid, pid: m[4] === undefined ? tid : Number(m[4]), delayMs: Number(m[6]), runMs: Number(m[7]) });
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

/** Who a thread is, in windowView: the process's name for its main thread, else with the thread id; "other" outside `names`. */
function whoOf(e: SwitchOut, names: ReadonlyMap<number, string>): string {
  const name = names.get(e.pid);
  if (name === undefined) return 'other';
  return e.tid === e.pid ? name : `${name} thread ${e.tid}`;
}

/** One window of time seen from the CPUs (windowView). */
export interface WindowView {
  /** Per CPU, in time order, who ran and how long (ms) within the window, "idle" for the gaps; a thread's runs one after another merged. */
  cpus: Map<number, Array<{ who: string; ms: number }>>;
  /** Threads of the named processes that were ready and waited for a CPU within the window (ms summed per thread), the longest first. */
  waits: Array<{ who: string; ms: number }>;
}

/**
 * What ran on each of `cpuCount` CPUs during `window` ([start, end] seconds), and which
 * threads of the named processes waited for a CPU meanwhile; runs, gaps and waits shorter
 * than `minMs` left out.
 */
export function windowView(events: readonly SwitchOut[], names: ReadonlyMap<number, string>, window: readonly [number, number], cpuCount: number, minMs = 0.05): WindowView {
  const [w0, w1] = window;
  const runs: Array<{ cpu: number; start: number; end: number; who: string }> = [];
  const waited = new Map<string, number>();
  for (const e of events) {
    const runStart = e.time - e.runMs / 1000;
    const who = whoOf(e, names);
    if (overlapMs(runStart, e.time, w0, w1) >= minMs) runs.push({ cpu: e.cpu, start: Math.max(runStart, w0), end: Math.min(e.time, w1), who });
    if (who === 'other') continue;
    const wait = overlapMs(runStart - e.delayMs / 1000, runStart, w0, w1);
    if (wait > 0) waited.set(who, (waited.get(who) ?? 0) + wait);
  }
  runs.sort((a, b) => a.start - b.start);
  const cpus = new Map<number, Array<{ who: string; ms: number }>>();
  const add = (list: Array<{ who: string; ms: number }>, who: string, ms: number): void => {
    if (ms < minMs) return;
    const last = list[list.length - 1];
    if (last?.who === who) last.ms += ms;
    else list.push({ who, ms });
  };
  for (let cpu = 0; cpu < cpuCount; cpu++) {
    const list: Array<{ who: string; ms: number }> = [];
    let at = w0;
    for (const r of runs) {
      if (r.cpu !== cpu) continue;
      add(list, 'idle', (r.start - at) * 1000);
      add(list, r.who, (r.end - Math.max(r.start, at)) * 1000);
      at = Math.max(at, r.end);
    }
    add(list, 'idle', (w1 - at) * 1000);
    cpus.set(cpu, list);
  }
  const waits = [...waited].filter(([, ms]) => ms >= minMs).map(([who, ms]) => ({ who, ms })).sort((a, b) => b.ms - a.ms);
  return { cpus, waits };
}
