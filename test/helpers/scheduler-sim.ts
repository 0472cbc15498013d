/**
 * The simulated cluster of test/unit/scheduler-random.test.ts: a Scheduler driven by
 * seeded random events (submissions of random DAGs and direct runs, joins, completions,
 * failures, steals, copies, retirements, slot changes, lost workers, releases and cancels),
 * with workers modelled just far enough to answer it as real ones would. What it checks of
 * each command is in scheduler-sim-checks.ts; the invariants, in the scheduler's validate().
 */
import type { ErrorInfo } from '../../src/errors.ts';
import { ACTOR_CREATE, ACTOR_MODULE, type TaskSpec } from '../../src/graph/spec.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { DIRECT_RUN_IDS_FROM, taskId } from '../../src/graph/task-id.ts';
import type { SchedulerCommand, SchedulerEvent } from '../../src/scheduler/types.ts';
import { countCommand, observeCommand } from './scheduler-sim-checks.ts';

export type Ev = SchedulerEvent extends infer E ? (E extends SchedulerEvent ? Omit<E, 'stimulusId' | 'nowMs'> : never) : never;
export type Notify = Extract<SchedulerCommand, { type: 'notifyClient' }>;

export interface Run {
  workerId: string;
  id: string;
  runId: number;
  /** Inputs being computed on the same worker (early assignment): the run starts once it holds them. */
  awaits?: string[];
}

export class Sim {
  readonly s: Scheduler;
  now = 0;
  n = 0;
  workers = new Set<string>();
  workerSeq = 0;
  readonly pending: Run[] = [];
  readonly current = new Map<string, number>();
  readonly accepted = new Set<string>();
  readonly acceptedCount = new Map<string, number>();
  /** The stale completion being delivered, if any (its worker may be told to drop it). */
  staleReport: { workerId: string; id: string } | undefined;
  /** What each worker holds, from accepted completions and releaseData. */
  readonly held = new Map<string, Set<string>>();
  readonly wanted = new Set<string>();
  readonly notes: Map<string, Notify[]> = new Map();
  readonly deps = new Map<string, string[]>();
  wakeAt = Infinity;
  keySeq = 0;
  /** Runs the (simulated) workers started from direct submissions. */
  directRuns = 0;
  /** Steal requests not answered yet (victim, task, run). */
  readonly steals: Run[] = [];
  /** Copies asked for and not delivered yet. */
  readonly copies: { workerId: string; id: string }[] = [];
  /** Runs the (simulated) worker has started: a steal of them is refused. */
  readonly started = new Set<string>();
  /** Runs given back by their worker: they must never be accepted. */
  readonly granted = new Set<string>();
  readonly retiring = new Set<string>();
  /** Ids of actor creation tasks submitted so far (calls name one). */
  readonly actors: string[] = [];
  submits = 0;
  /** Runs whose result a run waiting for it used before they were reported: they succeed. */
  readonly mustFinish = new Set<string>();
  /** Commands of the event being observed. */
  batch: SchedulerCommand[] = [];

  constructor(
    readonly rand: () => number,
    readonly fail: (msg: string) => never,
  ) {
    this.s = new Scheduler({
      workerSaturation: 1 + this.int(2),
      saturationWindowMs: this.int(3) * 4,
      maxTasksPerThread: 1 + this.int(8),
      allowedFailures: 2,
      logSizeMax: 1000,
      earlyPerWorker: Number(process.env.FLOE_EARLY ?? 1024),
    });
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  send(ev: Ev): SchedulerCommand[] {
    const stimulusId = `s${++this.n}`;
    const cmds = this.s.handle({ ...ev, stimulusId, nowMs: this.now });
    this.s.validate();
    this.batch = cmds;
    for (const c of cmds) observeCommand(this, c);
    return cmds;
  }

  join(): void {
    const id = `w${++this.workerSeq}`;
    this.workers.add(id);
    this.held.set(id, new Set());
    const resources: Record<string, number> = this.rand() < 0.5 ? { gpu: 1 } : {};
    this.send({ type: 'workerJoined', workerId: id, threads: 1 + this.int(3), resources, address: id });
  }

  submit(clientId: string): void {
    this.submits++;
    const size = 1 + this.int(25);
    // Clients never pass an actor's creation as a task input: it is not in the pool.
    const existing = [...this.deps.keys()].filter((id) => id.startsWith(`${clientId}/`) && this.s.stateOf(id) !== 'forgotten' && !this.actors.includes(id));
    const keys: string[] = [];
    const tasks: TaskSpec[] = [];
    for (let i = 0; i < size; i++) {
      const key = `k${++this.keySeq}`;
      const pool = [...keys.filter((k) => !this.actors.includes(taskId(clientId, k))), ...existing.map((id) => id.slice(clientId.length + 1))];
      const fanIn = this.rand() < 0.1 ? 6 : 3;
      const deps = pool.length === 0 ? [] : Array.from({ length: this.int(fanIn) }, () => pool[this.int(pool.length)]!);
      const r = this.rand();
      if (r < 0.08) {
        tasks.push({ ...spec(key, deps, this.rand), actor: ACTOR_CREATE, restartsMax: this.int(2) });
        this.actors.push(taskId(clientId, key));
      } else if (r < 0.2 && this.actors.length > 0) {
        const actor = this.actors[this.int(this.actors.length)]!;
        tasks.push({ ...spec(key, deps, this.rand), module: ACTOR_MODULE, exportName: 'method', actor, resources: {} });
      } else {
        tasks.push(spec(key, deps, this.rand));
      }
      // Handles lent in arguments: any task may hold actors (even gone or unknown ones).
      if (this.actors.length > 0 && this.rand() < 0.15) {
        const lent = Array.from({ length: 1 + this.int(2) }, () => this.actors[this.int(this.actors.length)]!);
        tasks[tasks.length - 1]!.holdsActors = [...new Set(lent)];
      }
      keys.push(key);
      this.deps.set(taskId(clientId, key), deps.map((d) => taskId(clientId, d)));
    }
    const wants = keys.filter(() => this.rand() < 0.6);
    for (const k of wants) this.wanted.add(taskId(clientId, k));
    this.send({ type: 'graphSubmitted', clientId, requestId: `r${this.n}`, tasks: this.rand() < 0.5 ? tasks.reverse() : tasks, wants });
  }

  /**
   * A lone task a live worker started from a direct submission (client/direct.ts), before
   * the scheduler heard of it: its run is the worker's, until the scheduler cancels it. Now
   * and then several, as a client's put of several values (client/put-many.ts) starts them,
   * under run ids in a row.
   */
  submitDirect(clientId: string): void {
    const live = [...this.workers];
    if (live.length === 0) return;
    this.submits++;
    const workerId = live[this.int(live.length)]!;
    const count = this.rand() < 0.3 ? 2 + this.int(4) : 1;
    const runId = DIRECT_RUN_IDS_FROM + this.directRuns + 1;
    this.directRuns += count;
    const tasks: TaskSpec[] = [];
    for (let i = 0; i < count; i++) {
      const key = `k${++this.keySeq}`;
      const id = taskId(clientId, key);
      tasks.push(spec(key, [], this.rand));
      this.deps.set(id, []);
      this.wanted.add(id);
      this.current.set(id, runId + i);
      this.pending.push({ workerId, id, runId: runId + i, awaits: [] });
    }
    this.send({ type: 'graphSubmitted', clientId, requestId: `r${this.n}`, tasks, wants: tasks.map((t) => t.key), startedOn: { workerId, runId } });
    tasks.forEach((t, i) => countCommand(this.current.get(taskId(clientId, t.key)) === runId + i ? 'direct:adopted' : 'direct:cancelled'));
    if (count > 1) countCommand('direct:several');
  }

  /**
   * Whether a run can have started: it holds every input it was waiting for on its worker.
   * A cancelled run that never can is dropped by its worker (never reported): the sim
   * drops it too.
   */
  canStart(run: Run): boolean {
    if (run.awaits === undefined || run.awaits.length === 0) return true;
    const held = this.held.get(run.workerId);
    return held !== undefined && run.awaits.every((id) => held.has(id) || this.ranHere(run.workerId, id) !== undefined);
  }

  /**
   * The current run of `id` on `workerId` if it has started: the sim lets it count as done
   * in the thread but not yet reported (a worker may report results out of order), so a
   * run waiting for it may finish first. That run must then finish too (`mustFinish`).
   */
  ranHere(workerId: string, id: string): Run | undefined {
    const runId = this.current.get(id);
    return this.pending.find((r) => r.id === id && r.runId === runId && r.workerId === workerId && this.started.has(`${r.id}#${r.runId}`));
  }

  /** A random pending run that can have started (undefined when none can). */
  pickStartable(): Run | undefined {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const run = this.pending[i]!;
      const dead = this.current.get(run.id) !== run.runId || !this.workers.has(run.workerId);
      if (dead && !this.canStart(run)) this.pending.splice(i, 1);
    }
    const startable = this.pending.filter((r) => this.canStart(r));
    if (this.pending.length > 0 && startable.length === 0) this.fail('every pending run waits for an input no run computes');
    return startable.length === 0 ? undefined : startable[this.int(startable.length)];
  }

  deliver(): void {
    const picked = this.pickStartable();
    if (picked === undefined) return;
    const held = this.held.get(picked.workerId);
    for (const id of picked.awaits ?? []) {
      const input = held?.has(id) === true ? undefined : this.ranHere(picked.workerId, id);
      if (input !== undefined) this.mustFinish.add(`${input.id}#${input.runId}`);
    }
    const run = this.pending.splice(this.pending.indexOf(picked), 1)[0]!;
    this.started.add(`${run.id}#${run.runId}`);
    // Sometimes deliver twice (duplicate) or keep it around to deliver again later (stale).
    if (this.rand() < 0.05) this.pending.push(run);
    const accepted = this.current.get(run.id) === run.runId && this.workers.has(run.workerId);
    const before = this.s.stateOf(run.id);
    if (accepted && before !== 'processing') this.fail(`current run ${run.id} is ${before}`);
    // The run ends here either way; a retry or rerun comes with a new runId.
    if (accepted) this.current.delete(run.id);
    let cmds: SchedulerCommand[];
    if (this.rand() < 0.15 && !this.mustFinish.has(`${run.id}#${run.runId}`)) {
      const error: ErrorInfo = { code: 'TASK_ERROR', message: 'x', retryable: this.rand() < 0.7, stack: 'S', taskKey: '', originalName: '' };
      cmds = this.send({ type: 'taskFailed', workerId: run.workerId, id: run.id, runId: run.runId, error });
    } else {
      if (accepted) {
        const tag = `${run.id}#${run.runId}`;
        if (this.accepted.has(tag)) this.fail(`run ${tag} accepted twice`);
        if (this.granted.has(tag)) this.fail(`run ${tag} was given back, yet accepted`);
        this.accepted.add(tag);
        this.acceptedCount.set(run.id, (this.acceptedCount.get(run.id) ?? 0) + 1);
        this.held.get(run.workerId)!.add(run.id);
      }
      const serializer = { id: 'msgpack', module: '' };
      if (!accepted) this.staleReport = run;
      cmds = this.send({ type: 'taskFinished', workerId: run.workerId, id: run.id, runId: run.runId, nbytes: this.int(100), serializer, inline: undefined, durationMs: 1 });
      this.staleReport = undefined;
    }
    // A stale report changes nothing, but the worker is told to drop that result.
    const dropped = (c: SchedulerCommand): boolean => c.type === 'releaseData' && c.workerId === run.workerId && c.id === run.id;
    if (!accepted && cmds.some((c) => !dropped(c))) this.fail(`stale report for ${run.id}#${run.runId} produced commands`);
  }

  /** The victim answers: granted only if the run is still here and has not started. */
  answerSteal(): void {
    const req = this.steals.splice(this.int(this.steals.length), 1)[0]!;
    if (this.rand() < 0.05) this.steals.push(req); // a duplicate answer later
    const tag = `${req.id}#${req.runId}`;
    const at = this.pending.findIndex((r) => r.workerId === req.workerId && r.id === req.id && r.runId === req.runId);
    const current = this.current.get(req.id) === req.runId && this.workers.has(req.workerId);
    let cmds: SchedulerCommand[];
    if (at >= 0 && !this.started.has(tag) && this.rand() < 0.8) {
      this.pending.splice(at, 1);
      this.granted.add(tag);
      if (current) this.current.delete(req.id);
      cmds = this.send({ type: 'stealGranted', workerId: req.workerId, id: req.id, runId: req.runId });
    } else {
      if (at >= 0) this.started.add(tag);
      cmds = this.send({ type: 'stealRefused', workerId: req.workerId, id: req.id, runId: req.runId });
    }
    if (!current && cmds.length > 0) this.fail(`stale steal answer for ${tag} produced commands`);
  }

  deliverCopy(): void {
    const copy = this.copies.splice(this.int(this.copies.length), 1)[0]!;
    if (!this.workers.has(copy.workerId)) return;
    if (this.rand() < 0.15) {
      // Failed there (its fetch or its store): reported, or lost with a report now and then.
      if (this.rand() < 0.8) {
        const cmds = this.send({ type: 'replicateFailed', workerId: copy.workerId, ids: [copy.id] });
        if (cmds.some((c) => c.type === 'replicate')) countCommand('replicate:again');
      }
      return;
    }
    this.held.get(copy.workerId)!.add(copy.id);
    this.send({ type: 'replicated', workerId: copy.workerId, ids: [copy.id] });
  }

  /** A client asks for copies of some of its keys (Client.replicate): n workers each, or all (0). */
  askReplicas(clientId: string): void {
    const mine = [...this.deps.keys()].filter((id) => id.startsWith(`${clientId}/`)).map((id) => id.slice(clientId.length + 1));
    if (mine.length === 0) return;
    const keys = Array.from({ length: 1 + this.int(4) }, () => mine[this.int(mine.length)]!);
    const cmds = this.send({ type: 'replicateRequested', clientId, keys, n: this.int(4) });
    if (cmds.some((c) => c.type === 'replicate')) countCommand('replicate:asked');
  }

  retire(): void {
    const list = [...this.workers];
    const id = list[this.int(list.length)]!;
    this.retiring.add(id);
    this.send({ type: 'workerRetiring', workerId: id });
  }

  /** A running task starts or stops waiting on subtasks (reports for stale runs are ignored). */
  slot(): void {
    const run = this.pickStartable();
    if (run === undefined) return;
    this.started.add(`${run.id}#${run.runId}`);
    const r = this.rand();
    // A straggler, found by the worker's pool: it was started, and it holds its thread.
    const type = r < 0.45 ? 'taskSeceded' : r < 0.75 ? 'taskRejoined' : 'taskStraggling';
    this.send({ type, workerId: run.workerId, id: run.id, runId: run.runId });
  }

  startOne(): void {
    const run = this.pickStartable();
    if (run === undefined) return;
    this.started.add(`${run.id}#${run.runId}`);
  }

  loseWorker(): void {
    const list = [...this.workers];
    const id = list[this.int(list.length)]!;
    this.workers.delete(id);
    this.held.delete(id);
    this.retiring.delete(id);
    for (const run of this.pending) if (run.workerId === id && this.current.get(run.id) === run.runId) this.current.delete(run.id);
    this.send({ type: 'workerLost', workerId: id });
  }

  clientOp(clientId: string, type: 'keysReleased' | 'keysCancelled'): void {
    const mine = [...this.wanted].filter((id) => id.startsWith(`${clientId}/`));
    if (mine.length === 0) return;
    const id = mine[this.int(mine.length)]!;
    const key = id.slice(clientId.length + 1);
    if (type === 'keysReleased') {
      this.wanted.delete(id);
      this.send({ type, clientId, keys: [key] });
      return;
    }
    const closure = this.dependentsOf(id);
    const erred = closure.filter((x) => this.s.stateOf(x) === 'erred');
    this.send({ type, clientId, keys: [key] });
    for (const x of closure) {
      if (this.s.stateOf(x) !== 'forgotten') this.fail(`cancelled ${x} (from ${id}) still exists`);
      if (this.wanted.has(x) && !erred.includes(x)) this.fail(`cancelled wanted key ${x} was not notified`);
      this.wanted.delete(x);
    }
  }

  /** A task and its transitive dependents that the scheduler still knows. */
  dependentsOf(root: string): string[] {
    const out = [root];
    for (let i = 0; i < out.length; i++) {
      for (const [id, deps] of this.deps) {
        if (deps.includes(out[i]!) && !out.includes(id) && this.s.stateOf(id) !== 'forgotten') out.push(id);
      }
    }
    return out;
  }

  step(clients: string[]): boolean {
    this.now += this.int(5);
    const r = this.rand();
    const client = clients[this.int(clients.length)]!;
    // Submissions are capped so that a long random walk cannot grow without end.
    if (r < 0.025 && this.submits < 40) this.submit(client);
    else if (r < 0.03 && this.submits < 40) this.submitDirect(client);
    else if (r < 0.05) this.join();
    else if (r < 0.07 && this.workers.size > 0) this.loseWorker();
    else if (r < 0.09) this.clientOp(client, 'keysCancelled');
    else if (r < 0.11) this.clientOp(client, 'keysReleased');
    else if (r < 0.17 && this.steals.length > 0) this.answerSteal();
    else if (r < 0.2 && this.copies.length > 0) this.deliverCopy();
    else if (r < 0.21 && this.workers.size > 0) this.retire();
    else if (r < 0.215) this.askReplicas(client);
    else if (r < 0.25 && this.pending.length > 0) this.startOne();
    else if (r < 0.28 && this.pending.length > 0) this.slot();
    else if (this.pending.length > 0) this.deliver();
    else if (this.steals.length > 0) this.answerSteal();
    else if (this.copies.length > 0) this.deliverCopy();
    else if (this.wakeAt !== Infinity) {
      this.now = Math.max(this.now, this.wakeAt);
      this.wakeAt = Infinity;
      this.send({ type: 'tick' });
    } else if (this.s.counts.queued > 0 || this.workers.size === 0) this.join();
    else return false;
    return true;
  }
}

export function spec(key: string, deps: string[], rand: () => number): TaskSpec {
  return {
    key,
    name: key,
    module: 'm',
    exportName: 'f',
    args: new Uint8Array(),
    deps,
    serializer: { id: 'msgpack', module: '' },
    priority: [0, 0, 0, 1, 5][Math.floor(rand() * 5)]!,
    retries: Math.floor(rand() * 3),
    retryDelayMs: rand() < 0.5 ? 0 : 10,
    retryBackoff: 2,
    timeoutMs: 0,
    resources: rand() < 0.1 ? { gpu: 1 } : {},
  };
}
