/**
 * CPU time per process of a benchmark's cluster, read from /proc/<pid>/stat (Linux): what a
 * scenario costs each process, per task. Rates measured by the wall clock swing widely on a
 * shared machine (the same build gave 11,000 to 19,000 no-op tasks/s within minutes); CPU per
 * task moves when the work does, so it tells which process a change made cheaper.
 * bench/cpu-per-task.ts prints the same figures on its own.
 */
import { readFileSync } from 'node:fs';
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

/** User + system CPU seconds a process has used, all its threads; undefined when unknown (no /proc, or the process is gone). */
export function cpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLOCK_TICKS_PER_S : undefined;
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
