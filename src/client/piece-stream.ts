/**
 * One streamed submission: a big graph sent in pieces of growing size (submit-pieces.ts),
 * each piece a request of its own, sent without waiting for the replies to the pieces
 * before it (the connection keeps their order), so that the coordinator starts the first
 * tasks while the client encodes and sends the rest.
 *
 * The pieces may go out in two phases (Submitter): while the caller is still submitting
 * (`sendNow`, synchronous, each piece as soon as it is full) and when the submission is
 * flushed (`finish`, the rest). Until `finish`, a piece's keys are all wanted: the
 * scheduler drops new tasks that nothing wanted needs, and later pieces depend on them;
 * `finish` sends the wants of the whole submission and releases the extra ones.
 *
 * A piece over the transport's payload limit is cut further by size. Wants of keys sent
 * before the stream, and results reported missing (each with its key's want), go in
 * requests of their own before the last piece, so that no request carries more than its
 * own tasks' keys. A piece whose first attempt failed is sent again once every piece is
 * answered, in order: a retried request may have overtaken one it depends on. If a piece
 * still fails, the submission fails, and the keys of the pieces the scheduler accepted are
 * released (the caller fails their futures).
 */
import type { TaskSpec } from '../graph/spec.ts';
import type { MissingResult } from '../transport/messages.ts';
import { mapPacked } from '../util/packed.ts';
import { argsOver, nextPieceTasks, PieceWindow, splitKeys, splitMissing, splitSubmission, streamPieces, wantsAreKeysOf, FIRST_PIECE_TASKS } from './submit-pieces.ts';

/** What a stream needs of its submitter. */
export interface StreamIo {
  encode(tasks: TaskSpec[], wants: string[], missing: MissingResult[]): Uint8Array;
  request(payload: Uint8Array): Promise<void>;
  /** Tells the scheduler the client no longer wants these keys. */
  release(keys: string[]): void;
  /** The transport's payload limit (undefined: none). */
  maxBytes: number | undefined;
}

export class PieceStream {
  /** Tasks in the next piece (submit-pieces.ts: 64, doubling up to a maximum). */
  nextSize = FIRST_PIECE_TASKS;
  /** The pieces sent so far, in order. */
  private readonly pieces: TaskSpec[][] = [];
  /** Keys sent wanted only for the stream's sake (released at the end unless wanted). */
  private readonly kept: string[] = [];
  private readonly payloads: Uint8Array[] = [];
  private readonly attempts: Promise<void>[] = [];
  private readonly window = new PieceWindow();

  constructor(private readonly io: StreamIo) {}

  /**
   * Sends `tasks` (one piece, at most `nextSize` of them) at once, if the pieces not
   * answered yet leave room for them; false (nothing sent) when it must wait.
   */
  sendNow(tasks: TaskSpec[]): boolean {
    if (!this.window.hasRoom(tasks.length)) return false;
    this.sendPiece(tasks, undefined);
    this.nextSize = nextPieceTasks(this.nextSize);
    return true;
  }

  /** `tasks` cut into the pieces that follow the ones sent (growing, as streamPieces). */
  cut(tasks: TaskSpec[]): TaskSpec[][] {
    const pieces = streamPieces(tasks, this.nextSize);
    for (let i = 0; i < pieces.length; i++) this.nextSize = nextPieceTasks(this.nextSize);
    return pieces;
  }

  /**
   * Sends the rest of the submission, in these pieces (the last one is the final piece),
   * and waits until every piece is answered. `wants`:
   * the submission's wanted keys (of its tasks, or sent before it); `missing`: results the
   * client failed to fetch.
   */
  async finish(rest: TaskSpec[][], wants: string[], missing: MissingResult[]): Promise<void> {
    const restPieces = rest.slice(0, -1);
    const last = rest.at(-1) ?? [];
    // The common case, every task wanted and nothing else, needs no sets of thousands of keys.
    const all = [...this.pieces, ...restPieces, last];
    const wanted = missing.length === 0 && wantsAreKeysOf(all, wants) ? undefined : new Set(wants);
    for (const piece of restPieces) {
      await this.window.room(piece.length);
      this.sendPiece(piece, undefined);
      // Only microtasks between pieces: the transport writes each one out at once.
      await Promise.resolve();
    }
    if (wanted !== undefined) {
      // Wants of keys the scheduler already has, and missing results, go before the last
      // piece, in as many requests as they need.
      const inLast = new Set(last.map((spec) => spec.key));
      const missingKeys = new Set(missing.map((m) => m.key));
      const sentWants = new Set(this.kept);
      const earlier = wants.filter((key) => !inLast.has(key) && !sentWants.has(key) && !missingKeys.has(key));
      for (const chunk of splitKeys(earlier, this.io.maxBytes)) await this.issue(this.io.encode([], chunk, []), 0);
      for (const chunk of splitMissing(missing, this.io.maxBytes)) {
        const keys = [...new Set(chunk.map((m) => m.key))].filter((key) => wanted.has(key));
        await this.issue(this.io.encode([], keys, chunk), 0);
      }
    }
    if (last.length > 0) {
      await this.window.room(last.length);
      this.sendPiece(last, wanted ?? ALL_WANTED);
    }

    const settled = await Promise.allSettled(this.attempts);
    try {
      for (let i = 0; i < this.payloads.length; i++) {
        if (settled[i]!.status === 'rejected') await this.io.request(this.payloads[i]!);
      }
    } catch (error) {
      this.io.release([...this.kept, ...last.map((spec) => spec.key)]);
      throw error;
    }
    const extra = wanted === undefined ? [] : this.kept.filter((key) => !wanted.has(key));
    if (extra.length > 0) this.io.release(extra);
  }

  /**
   * Sends one piece (cut by size if it does not fit), room for it already made. `final`:
   * the wanted keys when this is the submission's last piece; undefined for the others,
   * whose keys are all wanted until the end.
   */
  private sendPiece(tasks: TaskSpec[], final: ReadonlySet<string> | typeof ALL_WANTED | undefined): void {
    const max = this.io.maxBytes;
    // Arguments alone too big: cut at once rather than copy them into a message first.
    if (max !== undefined && tasks.length > 1 && argsOver(tasks, max)) return this.sendParts(tasks, max, final);
    const keys = mapPacked(final === undefined || final === ALL_WANTED ? tasks : tasks.filter((spec) => final.has(spec.key)), specKey);
    const payload = this.io.encode(tasks, keys, []);
    if (max !== undefined && payload.byteLength > max && tasks.length > 1) return this.sendParts(tasks, max, final);
    this.pieces.push(tasks);
    if (final === undefined) for (const key of keys) this.kept.push(key);
    this.send(payload, tasks.length);
  }

  /** Sends a piece that does not fit as parts cut by size; each part wants its own share of the keys. */
  private sendParts(tasks: TaskSpec[], max: number, final: ReadonlySet<string> | typeof ALL_WANTED | undefined): void {
    for (const part of splitSubmission(tasks, max)) this.sendPiece(part, final);
  }

  private async issue(payload: Uint8Array, tasks: number): Promise<void> {
    await this.window.room(tasks);
    this.send(payload, tasks);
  }

  private send(payload: Uint8Array, tasks: number): void {
    const attempt = this.io.request(payload);
    attempt.catch(() => {}); // looked at in finish, once all are answered
    this.payloads.push(payload);
    this.attempts.push(attempt);
    this.window.sent(attempt, tasks);
  }
}

function specKey(spec: TaskSpec): string {
  return spec.key;
}

/** The last piece of a submission in which every task is wanted. */
const ALL_WANTED = Symbol('all wanted');
