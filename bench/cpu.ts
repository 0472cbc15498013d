/**
 * CPU time per process of a benchmark's cluster, read from /proc/<pid>/stat (Linux): what a
 * scenario costs each process, per task. Rates measured by the wall clock swing widely on a
 * shared machine (the same build gave 11,000 to 19,000 no-op tasks/s within minutes); CPU per
 * task moves when the work does, so it tells which process a change made cheaper.
 * bench/cpu-per-task.ts prints the same figures on its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { LocalClusterHandle } from '../cluster/local-cluster.ts';

/** A process of the cluster a scenario runs on (the bench process itself included). */
export interface BenchProcess {
  /** e.g. 'coordinator', 'worker 0', 'nats-server', 'client'; 'all' in embedded mode. */
  name: string;
  pid: number;
}

/** A local cluster's processes by role, and this process as its client. */
export function clusterProcesses(handle: LocalClusterHandle): BenchProcess[] {
  return [
    ...(handle.nats === undefined ? [] : [{ name: 'nats-server', pid: handle.nats.pid }]),
    { name: 'coordinator', pid: handle.coordinator.pid ?? 0 },
    ...handle.workers.map((w, i) => ({ name: `worker ${i}`, pid: w.pid ?? 0 })),
    { name: 'client', pid: process.pid },
  ];
}

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

/** User and system CPU seconds in a /proc stat file; undefined when unknown (no /proc, or the process or thread is gone). */
function statSeconds(path: string): { user: number; system: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? { user: utime / CLOCK_TICKS_PER_S, system: stime / CLOCK_TICKS_PER_S } : undefined;
}

/** User + system CPU seconds a process has used, all its threads; undefined when unknown. */
export function cpuSeconds(pid: number): number | undefined {
  const s = statSeconds(`/proc/${pid}/stat`);
  return s === undefined ? undefined : s.user + s.system;
}

/** A process's CPU seconds split by thread: its main thread (user, system) and all the others together. */
export interface ThreadCpu {
  mainUser: number;
  mainSystem: number;
  others: number;
}

/** CPU seconds of a process's main thread and of its other threads (pool threads, V8's and libuv's helpers); undefined when unknown. */
export function threadCpuSeconds(pid: number): ThreadCpu | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out: ThreadCpu = { mainUser: 0, mainSystem: 0, others: 0 };
  for (const tid of tids) {
    const s = statSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (s === undefined) continue; // a thread that ended meanwhile
    if (tid === String(pid)) {
      out.mainUser = s.user;
      out.mainSystem = s.system;
    } else {
      out.others += s.user + s.system;
    }
  }
  return out;
}

/** CPU used by each process since the meter was made. */
export class CpuMeter {
  private readonly start: Map<BenchProcess, number>;

  constructor(private readonly processes: readonly BenchProcess[]) {
    this.start = new Map();
    for (const p of processes) {
      const s = cpuSeconds(p.pid);
      if (s !== undefined) this.start.set(p, s);
    }
  }

  /** µs of CPU per task, by process name, for the processes that could be read at both ends. */
  usPerTask(tasks: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.processes) {
      const before = this.start.get(p);
      const now = cpuSeconds(p.pid);
      if (before !== undefined && now !== undefined) out[p.name] = ((now - before) * 1e6) / tasks;
    }
    return out;
  }
}
