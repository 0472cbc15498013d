/**
 * How a big submission is cut into requests: growing pieces for streaming, and pieces
 * that fit the transport's payload limit (PieceStream sends them, piece-stream.ts).
 */
import type { TaskSpec } from '../graph/spec.ts';
import type { MissingResult } from '../transport/messages.ts';

/**
 * A submission of at least this many tasks is streamed: sent in pieces, the first of
 * FIRST_PIECE_TASKS tasks and each next one twice as big (up to PIECE_TASKS_MAX), so
 * that its first tasks reach the scheduler and start while the rest is still being
 * encoded and sent. Smaller ones go in one request, which the scheduler takes or rejects
 * as a whole.
 */
export const STREAM_TASKS_MIN = 256;
export const FIRST_PIECE_TASKS = 64;
const PIECE_TASKS_MAX = 8192;

/** The size of the piece after one of `size` tasks. */
export function nextPieceTasks(size: number): number {
  return Math.min(2 * size, PIECE_TASKS_MAX);
}

/** Tasks by which a piece may end early at most, as a share of its size (see pieceEnd). */
const FLOW_CUT_BACK_SHARE = 4;

/**
 * Where a piece of at most `size` of the tasks starting at `start` ends: where the task after
 * it has no inputs, if one of the last quarter of its places is such a task, else where its
 * size ends. A task without inputs starts a flow of the submission (a chain's or a tree's
 * root, or an independent task), so a piece rarely ends inside a chain or a tree: the tasks
 * of one cut in two waited for the next piece after their inputs had run (at the piece ends
 * of the task-lag shapes, they were the only tasks after a root to start milliseconds
 * late). A piece ending where the submission ends is never shortened.
 */
export function pieceEnd(length: number, start: number, size: number, hasInputs: (index: number) => boolean): number {
  const end = start + size;
  if (end >= length) return length;
  const stop = Math.max(start + 1, end - Math.floor(size / FLOW_CUT_BACK_SHARE));
  for (let i = end; i >= stop; i--) if (!hasInputs(i)) return i;
  return end;
}

/**
 * Growing pieces for streaming, in order, the first of `firstSize` tasks (PieceStream cuts
 * any that is over the payload limit).
 */
export function streamPieces(tasks: TaskSpec[], firstSize = FIRST_PIECE_TASKS): TaskSpec[][] {
  const pieces: TaskSpec[][] = [];
  for (let i = 0, size = firstSize; i < tasks.length; size = nextPieceTasks(size)) {
    const end = pieceEnd(tasks.length, i, size, (k) => tasks[k]!.deps.length > 0);
    pieces.push(tasks.slice(i, end));
    i = end;
  }
  return pieces;
}

/** Whether `wants` are the keys of the pieces' tasks, all and in order: a submission of wanted tasks, and nothing else. */
export function wantsAreKeysOf(pieces: readonly TaskSpec[][], wants: readonly string[]): boolean {
  let i = 0;
  for (const piece of pieces) {
    for (const spec of piece) if (i >= wants.length || wants[i++] !== spec.key) return false;
  }
  return i === wants.length;
}

/**
 * Tasks a streamed submission may have in pieces the coordinator has not answered yet; the
 * next piece waits below this. The coordinator takes pieces one after another, so without
 * a limit the last pieces of a big graph wait behind all the others, longer than a request
 * may wait for its reply: a million tasks sent at once timed out and were sent again, and
 * again. Two of the biggest pieces keep the coordinator busy while the next one is
 * encoded; a submission of up to this many tasks never waits.
 */
export const PIECES_IN_FLIGHT_TASKS_MAX = 16_384;

/** The pieces of a submission sent and not answered yet, and the room they leave. */
export class PieceWindow {
  private readonly unanswered = new Set<Promise<void>>();
  private tasks = 0;

  constructor(private readonly tasksMax = PIECES_IN_FLIGHT_TASKS_MAX) {}

  /** Whether a piece of `tasks` tasks may go now (always when nothing is unanswered). */
  hasRoom(tasks: number): boolean {
    return this.unanswered.size === 0 || this.tasks + tasks <= this.tasksMax;
  }

  /** Resolves once a piece of `tasks` tasks may go. */
  async room(tasks: number): Promise<void> {
    while (!this.hasRoom(tasks)) await Promise.race(this.unanswered);
  }

  /** Counts a piece of `tasks` tasks until its reply (or failure) comes. */
  sent(reply: Promise<unknown>, tasks: number): void {
    this.tasks += tasks;
    const answered: Promise<void> = reply.then(
      () => this.answered(answered, tasks),
      () => this.answered(answered, tasks),
    );
    this.unanswered.add(answered);
  }

  private answered(piece: Promise<void>, tasks: number): void {
    this.tasks -= tasks;
    this.unanswered.delete(piece);
  }
}

/** Bytes of a request to spend on tasks or keys: room is left for ids and framing. */
function budgetOf(maxBytes: number): number {
  return Math.max(1, Math.floor(maxBytes * 0.9) - 1024);
}

/**
 * Cuts a submission bigger than the transport's payload limit into pieces that fit, in
 * order (a task's dependencies are in its own piece or an earlier one, as the batch is in
 * submission order). Each task is counted with its key twice, as it may also be wanted.
 * A single task too big for any message is left alone: its request fails with the
 * transport's LIMIT_EXCEEDED error, which names the sizes.
 */
export function splitSubmission(tasks: TaskSpec[], maxBytes: number): TaskSpec[][] {
  const pieces = splitBy(tasks, (spec) => specBytes(spec) + 8 + Buffer.byteLength(spec.key), budgetOf(maxBytes));
  // The estimate is meant to be an upper bound; should it ever fall short, the tasks are
  // still cut (in halves), so that cutting again always ends.
  if (pieces.length === 1 && tasks.length > 1) {
    const half = tasks.length >> 1;
    return [tasks.slice(0, half), tasks.slice(half)];
  }
  return pieces;
}

/**
 * Whether the tasks' arguments alone are more than `maxBytes`: then their submission
 * cannot fit in one request, and encoding it whole before cutting it would only copy the
 * arguments once more (a few big arguments make a message of tens of MiB).
 */
export function argsOver(tasks: readonly TaskSpec[], maxBytes: number): boolean {
  let bytes = 0;
  for (let i = 0; i < tasks.length; i++) {
    bytes += tasks[i]!.args.byteLength;
    if (bytes > maxBytes) return true;
  }
  return false;
}

/** Keys in requests that fit (one request when there is no limit). */
export function splitKeys(keys: string[], maxBytes: number | undefined): string[][] {
  if (keys.length === 0) return [];
  if (maxBytes === undefined) return [keys];
  return splitBy(keys, (key) => 8 + Buffer.byteLength(key), budgetOf(maxBytes));
}

/** Missing results in requests that fit, each with its key (to be wanted again). */
export function splitMissing(missing: MissingResult[], maxBytes: number | undefined): MissingResult[][] {
  if (missing.length === 0) return [];
  if (maxBytes === undefined) return [missing];
  return splitBy(missing, (m) => 16 + 2 * Buffer.byteLength(m.key) + Buffer.byteLength(m.workerId), budgetOf(maxBytes));
}

function splitBy<T>(items: T[], sizeOf: (item: T) => number, budget: number): T[][] {
  const pieces: T[][] = [];
  let piece: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (piece.length > 0 && bytes + size > budget) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
    }
    piece.push(item);
    bytes += size;
  }
  pieces.push(piece);
  return pieces;
}

/** An upper estimate of a task's encoded size (protobuf adds a few bytes per field). */
function specBytes(spec: TaskSpec): number {
  let bytes = 128 + spec.args.byteLength;
  bytes += Buffer.byteLength(spec.key) + Buffer.byteLength(spec.name) + Buffer.byteLength(spec.module);
  bytes += Buffer.byteLength(spec.exportName ?? '');
  for (const dep of spec.deps) bytes += 8 + Buffer.byteLength(dep);
  for (const name in spec.resources) bytes += 16 + Buffer.byteLength(name);
  return bytes;
}
