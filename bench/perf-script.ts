/**
 * Reads the output of `perf script -F pid,tid,ip,sym,dso` (one line per sample, no call
 * chains) into a CPU profile per process: its samples, what kind of code they landed in,
 * and its busiest functions by self time (bench/cpu-profile.ts prints it). JavaScript frames
 * are named when the process ran with `--perf-basic-prof` (perf reads /tmp/perf-PID.map).
 * Also whether perf is here at all, for the tools that run it.
 */
import { execFileSync } from 'node:child_process';

/** What to say when perf is missing (Linux; running it also needs root or perf_event_paranoid ≤ 1). */
export const PERF_MISSING = 'perf is not installed (apt-get install -y linux-perf)';

/** Whether the `perf` command is here (bench/cpu-profile.ts, bench/round-trip-profile.ts). */
export function hasPerf(): boolean {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const SAMPLE_KINDS = ['js', 'builtins', 'gc', 'compiler', 'kernel', 'native'] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

export interface ProcessProfile {
  pid: number;
  samples: number;
  /** Samples on the process's main thread (the others: pool threads, V8's and libuv's helpers). */
  mainThread: number;
  kinds: Record<SampleKind, number>;
  /** Busiest symbols by self samples, most first. */
  top: Array<{ symbol: string; samples: number }>;
}

const GC = /Scaveng|Marking|Marker|Sweep|Evacuat|Compactor|MemoryChunk|GCTracer|Heap::Collect/;
const COMPILER = /compiler::|Compile|Turbofan|Maglev|Baseline|Parser|Bytecode|Deoptimiz/;

/** What kind of code a sample's symbol (in `dso`) is. */
export function kindOf(symbol: string, dso: string): SampleKind {
  if (dso.includes('kernel')) return 'kernel';
  if (symbol.startsWith('JS:')) return 'js';
  if (symbol.startsWith('Builtins_')) return 'builtins';
  if (GC.test(symbol)) return 'gc';
  if (COMPILER.test(symbol)) return 'compiler';
  return 'native';
}

/** `  1234/1236  7f00c0ffee JS:*run file:///x.js:3:1 (/tmp/perf-1234.map)` */
const SAMPLE = /^\s*(\d+)\/(\d+)\s+[0-9a-f]+\s+(.*)\s+\(([^()]*)\)\s*$/;

/** Profiles of the processes in `pids` (all when undefined), most samples first. */
export function parsePerfScript(text: string, pids?: ReadonlySet<number>, topN = 20): ProcessProfile[] {
  const byPid = new Map<number, { profile: ProcessProfile; symbols: Map<string, number> }>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pids !== undefined && !pids.has(pid)) continue;
    let entry = byPid.get(pid);
    if (entry === undefined) {
      const kinds = Object.fromEntries(SAMPLE_KINDS.map((k) => [k, 0])) as Record<SampleKind, number>;
      entry = { profile: { pid, samples: 0, mainThread: 0, kinds, top: [] }, symbols: new Map() };
      byPid.set(pid, entry);
    }
    const symbol = m[3]!.trim();
    const { profile, symbols } = entry;
    profile.samples++;
    if (Number(m[2]) === pid) profile.mainThread++;
    profile.kinds[kindOf(symbol, m[4]!)]++;
    symbols.set(symbol, (symbols.get(symbol) ?? 0) + 1);
  }
  const profiles = [...byPid.values()].map(({ profile, symbols }) => {
    profile.top = [...symbols].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([symbol, samples]) => ({ symbol, samples }));
    return profile;
  });
  return profiles.sort((a, b) => b.samples - a.samples);
}
