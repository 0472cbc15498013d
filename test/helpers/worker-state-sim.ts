/**
 * The world around the worker's state machine in test/unit/worker-state-random.test.ts:
 * a scheduler, a thread pool, clients and the data plane behaving as the real ones may (that
 * file says how), driven by a seeded PRNG, one random happening at a time (`act`). Every
 * event goes through WorkerState.handle and validate (`deliver`), and every command the
 * worker gives is answered as the world would (`apply`).
 */
import { WorkerState, type WorkerCommand, type WorkerEvent } from '../../src/worker/state.ts';
import { controlEvents } from '../../src/worker/control-events.ts';
import { emptyWorkerBatch, type WireAssign } from '../../src/transport/messages.ts';
import { ACTOR_MODULE, isActorSpec } from '../../src/graph/spec.ts';
import { DIRECT_RUN_IDS_FROM } from '../../src/graph/task-id.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { spec } from './spec.ts';
import { mulberry32 } from './rng.ts';

import { commandRuns, DURATION_MS, ELSEWHERE, error, HERE, lost, serializer, trace, type Command, type PoolBatch, type RunRef, type SchedRun } from './worker-state-sim-world.ts';

export { serializer };

export class Sim {
  readonly ws: WorkerState;
  readonly rand: () => number;
  step = 0;
  runSeq = 0;
  taskSeq = 0;
  /** The scheduler's view: runs on this worker not reported yet, by task id. */
  readonly runs = new Map<string, SchedRun>();
  /** The scheduler's view: results held here that it has not released. */
  readonly made = new Set<string>();
  /** Task ids that left this worker without a result: assigned again later. */
  readonly gone: string[] = [];
  /** The actor of each task that is an actor's call (decided when the task is first made). */
  readonly actors = new Map<string, string>();
  /** The scheduler's commands on their way, in the order it issued them. */
  readonly inbox: Command[] = [];
  readonly pool: PoolBatch[] = [];
  /** Inputs the worker asked to fetch, not answered yet. */
  readonly fetches = new Set<string>();
  paused = false;
  /** Replicas asked for and not answered yet; those released meanwhile. */
  readonly replicating = new Set<string>();
  readonly dropOnArrival = new Set<string>();
  /** Runs waiting on their subtasks ("id#runId"). */
  readonly seceded = new Set<string>();
  readonly seen = new Set<string>();

  constructor(readonly seed: number) {
    this.rand = mulberry32(seed);
    this.ws = new WorkerState({ threads: 1 + this.int(2), transfersMax: 1 + this.int(2) });
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }

  fail(message: string): never {
    throw new Error(`seed ${this.seed}, step ${this.step}: ${message} (reproduce with FLOE_SEED=${this.seed})`);
  }

  deliver(event: WorkerEvent): void {
    this.step++;
    this.seen.add(`event:${event.type}`);
    trace(`${this.step} ${JSON.stringify(event, (k: string, v: unknown): unknown => (k === 'spec' || k === 'serializer' || v instanceof Uint8Array ? undefined : v))}`);
    let out: WorkerCommand[];
    try {
      out = this.ws.handle(event);
      this.ws.validate();
    } catch (e) {
      this.fail(`${event.type}: ${(e as Error).message}`);
    }
    for (const c of out) trace(`   -> ${c.type} ${commandRuns(c)}`);
    for (const c of out) this.apply(c);
  }

  /** The world's answer to one command of the worker. */
  apply(c: WorkerCommand): void {
    this.seen.add(`command:${c.type}`);
    switch (c.type) {
      case 'execute':
        if (isActorSpec(c.assign.spec)) this.seen.add('an actor call runs');
        this.pool.push({ runs: [{ id: c.assign.id, runId: c.assign.runId }], started: 0, actor: isActorSpec(c.assign.spec) });
        break;
      case 'executeBatch':
        this.pool.push({ runs: c.assigns.map((a) => ({ id: a.id, runId: a.runId })), started: 0, actor: false });
        break;
      case 'abort':
        this.dropFromPool((r) => r.id === c.id && r.runId === c.runId);
        break;
      case 'fetch':
        if (this.fetches.has(c.id)) this.fail(`${c.id} fetched twice at once`);
        this.fetches.add(c.id);
        break;
      case 'reportReplicated':
        this.replicating.delete(c.id);
        // Released while the copy travelled: the copy is dropped too (retire.ts replicated).
        if (this.dropOnArrival.delete(c.id)) this.inbox.push({ release: [c.id] });
        else this.made.add(c.id);
        break;
      case 'replicateFailed':
        this.replicating.delete(c.id);
        this.dropOnArrival.delete(c.id);
        break;
      case 'reportFinished':
        if (this.current(c.id, c.runId)) {
          this.runs.delete(c.id);
          this.made.add(c.id);
          // Its early dependents' input is there: they are ordinary runs from now on.
          for (const run of this.runs.values()) run.early.delete(c.id);
        } else if (!this.runs.has(c.id) && !this.made.has(c.id)) {
          // A result the scheduler no longer waits for is dropped (lifecycle.ts dropStaleResult).
          this.inbox.push({ release: [c.id] });
        }
        break;
      case 'reportFailed':
      case 'reportStolen':
      case 'reportInputMissing':
        if (this.current(c.id, c.runId)) this.leave(c.id);
        break;
      default:
        break;
    }
  }

  current(id: string, runId: number): boolean {
    return this.runs.get(id)?.runId === runId;
  }

  /** A run left without a result: early runs waiting on it are cancelled, transitively (scheduler/early.ts takeBack). */
  leave(id: string): void {
    const stack = [id];
    while (stack.length > 0) {
      const left = stack.pop()!;
      this.runs.delete(left);
      this.gone.push(left);
      for (const [d, run] of this.runs) {
        if (!run.early.has(left)) continue;
        this.inbox.push({ cancel: { id: d, runId: run.runId } });
        stack.push(d);
      }
    }
  }

  dropFromPool(match: (r: RunRef) => boolean): RunRef[] {
    const dropped: RunRef[] = [];
    for (const batch of this.pool) {
      for (let i = batch.runs.length - 1; i >= batch.started; i--) {
        if (match(batch.runs[i]!)) dropped.push(...batch.runs.splice(i, 1));
      }
      // A started run that is aborted never reports either.
      if (batch.started > 0 && match(batch.runs[batch.started - 1]!)) {
        dropped.push(...batch.runs.splice(batch.started - 1, 1));
        batch.started--;
      }
    }
    this.prunePool();
    return dropped;
  }

  prunePool(): void {
    for (let i = this.pool.length - 1; i >= 0; i--) if (this.pool[i]!.runs.length === 0) this.pool.splice(i, 1);
  }

  spec(key: string, actor: string | undefined): TaskSpec {
    const name = this.rand() < 0.8 ? 'short' : 'long';
    return spec(key, [], { name, priority: this.int(3), ...(actor === undefined ? {} : { module: ACTOR_MODULE, actor }) });
  }

  /** A new assignment (or a task that left, again), with inputs of every kind. */
  assign(): WireAssign {
    const again = this.rand() < 0.2 && this.gone.length > 0;
    const id = again ? this.gone.splice(this.int(this.gone.length), 1)[0]! : `t${++this.taskSeq}`;
    if (!again && this.rand() < 0.15) this.actors.set(id, `a${this.int(2)}`);
    return this.assignAgain(id);
  }

  /** An assignment of task `id` under a new run id. */
  assignAgain(id: string): WireAssign {
    const actor = this.actors.get(id);
    const runId = ++this.runSeq;
    const deps: WireAssign['deps'] = [];
    const early = new Set<string>();
    const inputs = this.int(3);
    for (let i = 0; i < inputs; i++) {
      const kind = this.rand();
      let dep: WireAssign['deps'][number] | undefined;
      if (kind < 0.2) {
        dep = { id: `i${this.taskSeq}-${i}`, holders: [ELSEWHERE], nbytes: 1, serializer, inline: new Uint8Array([1]) };
      } else if (kind < 0.45) {
        dep = { id: `r${this.int(6)}`, holders: [ELSEWHERE], nbytes: 1, serializer, inline: undefined };
      } else if (kind < 0.6) {
        const held = this.pick([...this.made]);
        if (held !== undefined) dep = { id: held, holders: [HERE], nbytes: 1, serializer, inline: undefined };
      } else {
        // Early: an input being made here, by a run the scheduler counts on.
        const producer = actor === undefined ? this.pick([...this.runs.keys()].filter((p) => p !== id)) : undefined;
        if (producer !== undefined) {
          dep = { id: producer, holders: [], nbytes: 1, serializer, inline: undefined };
          early.add(producer);
        }
      }
      if (dep !== undefined && !deps.some((d) => d.id === dep.id)) deps.push(dep);
    }
    this.runs.set(id, { runId, early, actor: actor !== undefined });
    return { id, runId, attempt: 1, order: this.runSeq, spec: this.spec(id, actor), deps };
  }

  /** One random thing happens. */
  act(): void {
    const r = this.rand();
    if (r < 0.2) {
      const tasks: WireAssign[] = [];
      const n = 1 + this.int(4);
      for (let i = 0; i < n; i++) tasks.push(this.assign());
      for (const a of tasks) this.inbox.push({ assign: a });
    } else if (r < 0.45) {
      this.deliverScheduler();
    } else if (r < 0.7) {
      this.poolProgress();
    } else if (r < 0.78) {
      this.poolReturns();
    } else if (r < 0.86) {
      this.answerFetch();
    } else if (r < 0.9) {
      // Steal a run that is not early (the scheduler never steals those).
      const id = this.pick([...this.runs].filter(([, run]) => run.early.size === 0 && !run.actor).map(([id]) => id));
      if (id !== undefined) this.inbox.push({ steal: { id, runId: this.runs.get(id)!.runId } });
    } else if (r < 0.93) {
      const id = this.pick([...this.runs.keys()]);
      if (id !== undefined) {
        this.inbox.push({ cancel: { id, runId: this.runs.get(id)!.runId } });
        this.leave(id);
      }
    } else if (r < 0.95) {
      const ids = [...this.made].filter(() => this.rand() < 0.5);
      for (const id of ids) this.made.delete(id);
      for (const id of this.replicating) if (this.rand() < 0.5) this.dropOnArrival.add(id);
      if (ids.length > 0) this.inbox.push({ release: ids });
    } else if (r < 0.97) {
      // A copy of a result held elsewhere (a retiring worker is being drained), unless this
      // worker holds or is getting one (the scheduler picks a worker without a copy).
      const id = `r${this.int(6)}`;
      if (!this.made.has(id) && !this.replicating.has(id)) {
        this.replicating.add(id);
        this.inbox.push({ replicate: id });
      }
    } else if (r < 0.98) {
      this.secede();
    } else if (r < 0.985) {
      this.direct();
    } else if (r < 0.99) {
      this.put();
    } else {
      this.paused = !this.paused;
      this.deliver({ type: 'paused', stimulusId: `p${this.step}`, paused: this.paused });
    }
  }

  deliverScheduler(): boolean {
    if (this.inbox.length === 0) return false;
    // One control message, as the coordinator sends them: the commands of a turn, by kind.
    const batch = emptyWorkerBatch();
    for (const c of this.inbox.splice(0, 1 + this.int(6))) {
      if ('assign' in c) batch.assign.push(c.assign);
      else if ('cancel' in c) batch.cancel.push(c.cancel);
      else if ('release' in c) batch.release.push(...c.release);
      else if ('steal' in c) batch.steal.push(c.steal);
      else batch.replicate.push({ id: c.replicate, holders: [ELSEWHERE], nbytes: 1, serializer });
    }
    for (const event of controlEvents(batch, `m${this.step}`)) {
      this.deliver(event);
      // The same assignment handled twice in a row changes nothing. (The reliable link
      // delivers each message once; a run the worker has dropped is never assigned again.)
      if (event.type === 'assigned' && this.rand() < 0.05) this.deliver(event);
    }
    return true;
  }

  /** A started run ends (success or failure), or the next run of a batch starts. */
  poolProgress(): boolean {
    const batch = this.pick(this.pool);
    if (batch === undefined) return false;
    if (batch.started === 0 || (batch.started < batch.runs.length && this.rand() < 0.3)) {
      batch.started++;
      return true;
    }
    const run = batch.runs.splice(batch.started - 1, 1)[0]!;
    batch.started--;
    this.prunePool();
    const name = this.ws.view().tasks.get(run.id)?.assign.spec.name ?? 'short';
    const ok = this.rand() < 0.9;
    this.deliver({
      type: 'executed',
      stimulusId: `e${this.step}`,
      id: run.id,
      runId: run.runId,
      outcome: ok ? { ok: true, nbytes: 1, serializer } : { ok: false, error },
      durationMs: DURATION_MS[name],
    });
    return true;
  }

  /** A client's value put here (worker/puts.ts): its run adopted or dropped as stale, or a broadcast copy (a replica). */
  put(): void {
    const id = `u${++this.taskSeq}`;
    const replica = this.rand() < 0.3;
    const runId = replica ? 0 : DIRECT_RUN_IDS_FROM + this.taskSeq;
    this.seen.add(replica ? 'a copy is put' : 'a value is put');
    if (!replica && this.rand() < 0.8) this.runs.set(id, { runId, early: new Set(), actor: false });
    this.deliver({ type: 'put', stimulusId: `u${this.step}`, id, runId, nbytes: 1, serializer, startedAtMs: 0, replica });
  }

  /**
   * A client sends a lone task straight here (worker/direct.ts): it starts at once under a
   * run id of the worker's own if a thread is free. The scheduler hears of it before any
   * report of the run, and adopts the run, or cancels it and runs the task its usual way,
   * maybe here (submit.ts adoptDirectRun).
   */
  direct(): void {
    const id = `d${++this.taskSeq}`;
    if (!this.ws.startsAtOnce(id)) return; // also false while paused
    const runId = DIRECT_RUN_IDS_FROM + this.taskSeq;
    this.seen.add('a direct run starts');
    this.deliver({ type: 'assigned', stimulusId: `d${this.step}`, tasks: [{ id, runId, attempt: 1, spec: this.spec(id, undefined), deps: [] }] });
    if (this.rand() < 0.7) {
      this.runs.set(id, { runId, early: new Set(), actor: false });
      return;
    }
    this.inbox.push({ cancel: { id, runId } });
    if (this.rand() < 0.5) this.gone.push(id);
    else this.inbox.push({ assign: this.assignAgain(id) });
  }

  /** A running run waits on subtasks (its slot is free meanwhile), or is done waiting. */
  secede(): void {
    const batch = this.pick(this.pool.filter((b) => b.started > 0));
    if (batch === undefined) return;
    const run = batch.runs[batch.started - 1]!;
    const key = `${run.id}#${run.runId}`;
    const seceded = this.seceded.delete(key) ? false : (this.seceded.add(key), true);
    this.deliver({ type: seceded ? 'seceded' : 'rejoined', stimulusId: `w${this.step}`, id: run.id, runId: run.runId });
  }

  /** The pool finds a started run straggling and gives back runs that have not started. */
  poolReturns(): void {
    const straggling = this.pick(this.pool.filter((b) => b.started > 0 && !b.actor));
    if (straggling === undefined) return;
    const straggler = straggling.runs[straggling.started - 1]!;
    const back: RunRef[] = straggling.runs.splice(straggling.started);
    for (const batch of this.pool) {
      if (batch === straggling || batch.started > 0 || batch.actor || this.rand() < 0.5) continue;
      back.push(...batch.runs.splice(0));
    }
    this.prunePool();
    this.deliver({ type: 'returned', stimulusId: `g${this.step}`, stragglers: [straggler], runs: back });
  }

  answerFetch(): boolean {
    const id = this.pick([...this.fetches]);
    if (id === undefined) return false;
    this.fetches.delete(id);
    if (this.rand() < 0.85) this.deliver({ type: 'fetched', stimulusId: `f${this.step}`, id });
    else this.deliver({ type: 'fetchFailed', stimulusId: `f${this.step}`, id, error: lost });
    return true;
  }
}
