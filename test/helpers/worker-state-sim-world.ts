/**
 * The fixed parts of the world the worker-state simulation (worker-state-sim.ts) builds:
 * the two places a result can be, the errors a run ends with, what a scheduler command
 * and a pool dispatch look like to it, and its trace.
 */
import type { WorkerCommand } from '../../src/worker/state.ts';
import type { WireAssign } from '../../src/transport/messages.ts';
import { FloeError, toErrorInfo } from '../../src/errors.ts';

export const serializer = { id: 'msgpack', module: '' };
export const HERE = { workerId: 'w-here', address: 'inproc://here' };
export const ELSEWHERE = { workerId: 'w-other', address: 'inproc://other' };
export const error = toErrorInfo(new Error('failed'));
export const lost = toErrorInfo(new FloeError('RESULT_UNAVAILABLE', 'no holder has it'));
/** Task names: `short` ones teach the worker to batch them, `long` ones run alone. */
export const DURATION_MS: Record<string, number> = { short: 0.1, long: 50 };

export interface RunRef {
  id: string;
  runId: number;
}

/** A scheduler command on its way to this worker. */
export type Command = { assign: WireAssign } | { cancel: RunRef } | { release: string[] } | { steal: RunRef } | { replicate: string };

/** What the simulated scheduler counts on this worker for. */
export interface SchedRun {
  runId: number;
  /** Inputs it waits for that are being made here (it was assigned early). */
  early: Set<string>;
  /** An actor's call: never stolen, never assigned early (scheduler/stealing.ts, early.ts). */
  actor: boolean;
}

/** A pool dispatch: its runs go one after another; `started` of them have begun. */
export interface PoolBatch {
  runs: RunRef[];
  started: number;
  /** An actor's call, run by the worker's actor host: the pool never gives it back. */
  actor: boolean;
}

export const trace = process.env.FLOE_TRACE === undefined ? (): void => undefined : (line: string): void => console.error(line);

/** The task (and run) a command is about, for the trace. */
export function commandRuns(c: WorkerCommand): string {
  if (c.type === 'execute') return `${c.assign.id}#${c.assign.runId}`;
  if (c.type === 'executeBatch') return c.assigns.map((a) => `${a.id}#${a.runId}`).join('+');
  return 'runId' in c ? `${c.id}#${c.runId}` : c.id;
}
