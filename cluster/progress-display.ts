/**
 * How `floe run` shows a flow's progress: a live bar per flow on a terminal (cli-progress,
 * on stderr), plain lines every `intervalMs` otherwise (logs, CI), so stdout stays for the
 * result either way.
 */
import cliProgress from 'cli-progress';
import type { FlowProgress } from '../src/index.ts';

export interface ProgressDisplay {
  update(progress: FlowProgress): void;
  /** Prints the last state of every flow and stops. */
  stop(): void;
}

export function progressLine(p: FlowProgress): string {
  return `floe run: ${p.flow} ${p.done}/${p.total} done, ${p.failed} failed, ${p.running} running${p.ended ? ' (ended)' : ''}`;
}

/** Plain lines: at most one per flow run every `intervalMs`, and the last state at the end. */
export function lineDisplay(write: (line: string) => void, intervalMs: number): ProgressDisplay {
  const latest = new Map<number, { progress: FlowProgress; printed: boolean }>();
  const print = (): void => {
    for (const entry of latest.values()) {
      if (entry.printed) continue;
      entry.printed = true;
      write(progressLine(entry.progress));
    }
  };
  const timer = setInterval(print, intervalMs);
  timer.unref();
  return {
    update(progress) {
      latest.set(progress.runId, { progress, printed: false });
    },
    stop() {
      clearInterval(timer);
      print();
    },
  };
}

/** A live bar per flow run on a terminal. */
export function barDisplay(stream: NodeJS.WritableStream): ProgressDisplay {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: '{flow} [{bar}] {value}/{total} done | {failed} failed | {running} running',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<number, cliProgress.SingleBar>();
  return {
    update(p) {
      const payload = { flow: p.flow, failed: p.failed, running: p.running };
      let bar = bars.get(p.runId);
      if (bar === undefined) {
        bar = multi.create(p.total, p.done, payload);
        bars.set(p.runId, bar);
      }
      bar.setTotal(p.total);
      bar.update(p.done, payload);
    },
    stop() {
      multi.stop();
    },
  };
}
