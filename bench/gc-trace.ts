/**
 * Sums of V8's `--trace-gc-nvp` lines per isolate (bench/gc-survival.ts): scavenges and
 * full collections, their pauses, the time helper threads spent in scavenges, and what
 * survived, was promoted and was allocated.
 */

/** One isolate's collections. */
export interface GcSums {
  scavenges: number;
  pauseMs: number;
  helpersMs: number;
  /** NaN when not known (bench/gc-survival.ts's own process). */
  survivedMB: number;
  promotedMB: number;
  allocatedMB: number;
  fullGCs: number;
  fullPauseMs: number;
  /** When the isolate started, by the reader's clock (a line's time since its start, read as it arrives): the earliest is the main thread's. */
  startedMs: number;
}

export const emptyGcSums = (): GcSums => ({
  scavenges: 0,
  pauseMs: 0,
  helpersMs: 0,
  survivedMB: 0,
  promotedMB: 0,
  allocatedMB: 0,
  fullGCs: 0,
  fullPauseMs: 0,
  startedMs: Infinity,
});

/** Adds one line (read at `nowMs`) to its isolate's sums; other lines are ignored. */
export function addTraceLine(byIsolate: Map<string, GcSums>, line: string, nowMs: number): void {
  const head = /^\[\d+:(0x[0-9a-f]+)\]\s+([0-9.]+) ms: /.exec(line);
  const kind = /\bgc=(\w+)/.exec(line)?.[1];
  if (head === null || kind === undefined) return;
  const field = (name: string): number => Number(new RegExp(`(?:^| )${name.replaceAll('.', '\\.')}=([0-9.]+)`).exec(line)?.[1] ?? 0);
  let sums = byIsolate.get(head[1]!);
  if (sums === undefined) byIsolate.set(head[1]!, (sums = emptyGcSums()));
  sums.startedMs = Math.min(sums.startedMs, nowMs - Number(head[2]));
  sums.allocatedMB += field('allocated') / 1e6;
  if (kind === 's') {
    sums.scavenges++;
    sums.pauseMs += field('pause');
    sums.helpersMs += field('background.scavenge.parallel');
    sums.survivedMB += field('new_space_survived') / 1e6;
    sums.promotedMB += field('promoted') / 1e6;
  } else {
    sums.fullGCs++;
    sums.fullPauseMs += field('pause');
  }
}
