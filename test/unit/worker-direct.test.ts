/**
 * Direct submissions on the worker (worker/direct.ts): a lone task is started if it can
 * start at once and passed on to the coordinator, saying so; anything else is passed on
 * as it came; bad input is answered with an error. And the worker state's part: when a
 * task starts at once, and a scheduler run of the same task replacing the direct one.
 * The scheduler's side: test/unit/scheduler-direct.test.ts.
 */
import t from 'tap';
import { DIRECT_RUN_IDS_FROM } from '../../src/graph/task-id.ts';

const FIRST_RUN = DIRECT_RUN_IDS_FROM + 1;
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireAssign, WireOf } from '../../src/transport/messages.ts';
import type { Transport, TransportMessage } from '../../src/transport/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { DirectSubmissions } from '../../src/worker/direct.ts';
import { WorkerState, type WorkerCommand } from '../../src/worker/state.ts';
import { spec } from '../helpers/spec.ts';

/** A submission passed on: at once to `subject` (a request), or in a report ('report'). */
interface Relayed {
  subject: string;
  msg: WireOf<'submit'>;
  replyTo: string | undefined;
}

function setup(canStart = true, relayThrows = false): {
  direct: DirectSubmissions;
  started: WireAssign[];
  relayed: Relayed[];
  answers: unknown[];
  warnings: unknown[];
  /** Reports the worker was asked to send now. */
  reports: { asked: number; onAsk?: () => void };
  request(msg: WireOf<'submit'> | Uint8Array): TransportMessage;
  /** What the worker's next report carries: the held submissions, taken. */
  report(): void;
} {
  const started: WireAssign[] = [];
  const relayed: Relayed[] = [];
  const answers: unknown[] = [];
  const warnings: unknown[] = [];
  const reports: { asked: number; onAsk?: () => void } = { asked: 0 };
  const transport = {
    relay: (subject: string, data: Uint8Array, request: TransportMessage) => {
      if (relayThrows) throw new Error('connection closed');
      relayed.push({ subject, msg: decodeMessage(data) as WireOf<'submit'>, replyTo: request.replyTo });
    },
  } as unknown as Transport;
  const direct = new DirectSubmissions({
    transport,
    submitSubject: 'floe.x.coord.submit',
    workerId: 'w1',
    epoch: () => 3,
    tryStart: (a) => {
      if (canStart) started.push(a);
      return canStart;
    },
    report: () => {
      reports.asked += 1;
      reports.onAsk?.();
    },
    log: { ...silentLogger, warn: (fields) => warnings.push(fields) },
  });
  const request = (msg: WireOf<'submit'> | Uint8Array): TransportMessage => ({
    subject: 'floe.x.worker.w1.direct',
    data: msg instanceof Uint8Array ? msg : encodeMessage(msg),
    headers: undefined,
    expectsReply: true,
    replyTo: '_INBOX.client.1',
    respond: (data) => answers.push(decodeMessage(data)),
  });
  const report = (): void => {
    for (const r of direct.takeHeld()) relayed.push({ subject: 'report', msg: decodeMessage(r.submit) as WireOf<'submit'>, replyTo: r.replyTo });
  };
  return { direct, started, relayed, answers, warnings, reports, request, report };
}

const lone = (extra: Partial<WireOf<'submit'>> = {}): WireOf<'submit'> => ({
  type: 'submit', clientId: 'c1', requestId: '7', tasks: [spec('k')], wants: ['k'], missing: [], ...extra,
});

t.test('a lone task that can start here: started under a direct run id of its own, and passed on saying so', async (t) => {
  const s = setup();
  const request = s.request(lone());
  s.direct.onMessage(request);
  s.report();
  t.equal(s.started.length, 1);
  t.match(s.started[0], { id: 'c1/k', runId: FIRST_RUN, attempt: 1, deps: [], tellClient: true, spec: { key: 'k' } });
  t.equal(s.relayed.length, 1);
  t.equal(s.relayed[0]!.subject, 'report', 'in the worker\'s next report');
  t.equal(s.relayed[0]!.replyTo, request.replyTo, 'with the client\'s reply subject: the coordinator answers it');
  t.match(s.relayed[0]!.msg, { clientId: 'c1', requestId: '7', wants: ['k'], direct: { workerId: 'w1', epoch: 3, runId: FIRST_RUN } });
  t.same(s.relayed[0]!.msg.tasks.map((x) => x.key), ['k']);
  t.same(s.answers, [], 'the worker answers nothing itself');
  t.same(s.direct.counts, { started: 1, passedOn: 0 });
  s.direct.onMessage(s.request(lone({ tasks: [spec('j')], wants: ['j'] })));
  s.report();
  t.equal(s.started[1]!.runId, FIRST_RUN + 1, 'each direct run has a run id of its own');
  t.match(s.relayed[1]!.msg, { direct: { runId: FIRST_RUN + 1 } });
});

t.test('passed on, a submission still names the coordinator incarnation its client heard from (a restarted coordinator refuses it)', async (t) => {
  for (const canStart of [true, false]) {
    const s = setup(canStart);
    s.direct.onMessage(s.request(lone({ coordinatorIncarnation: 'kT9_x-3vQ2ab' })));
    s.report();
    t.equal(s.relayed[0]!.msg.coordinatorIncarnation, 'kT9_x-3vQ2ab', canStart ? 'started here' : 'only passed on');
    t.equal(s.started.length, canStart ? 1 : 0, 'a lone task all the same');
  }
  const s = setup();
  s.direct.onMessage(s.request(lone()));
  s.report();
  t.notOk('coordinatorIncarnation' in s.relayed[0]!.msg, 'a first contact names none');
});

t.test('a lone task that cannot start at once: passed on only', async (t) => {
  const s = setup(false);
  s.direct.onMessage(s.request(lone()));
  t.match(s.relayed[0]!.msg, { direct: { workerId: 'w1', epoch: 3, runId: 0 } });
  t.same(s.direct.counts, { started: 0, passedOn: 1 });
});

t.test('anything but a lone task is passed on without being started', async (t) => {
  const cases: Array<[string, WireOf<'submit'>]> = [
    ['two tasks', lone({ tasks: [spec('k'), spec('j')], wants: ['k', 'j'] })],
    ['an input', lone({ tasks: [spec('k', ['d'])] })],
    ['not wanted', lone({ wants: [] })],
    ['another key wanted', lone({ wants: ['k', 'other'] })],
    ['an actor call', lone({ tasks: [spec('k', [], { actor: 'c1/counter' })] })],
    ['lends an actor', lone({ tasks: [spec('k', [], { holdsActors: ['c1/counter'] })] })],
    ['resources', lone({ tasks: [spec('k', [], { resources: { gpu: 1 } })] })],
    ['progress asked', lone({ progress: true })],
    ['a missing result reported', lone({ missing: [{ key: 'm', workerId: 'w2' }] })],
  ];
  for (const [name, msg] of cases) {
    const s = setup();
    s.direct.onMessage(s.request(msg));
    t.equal(s.started.length, 0, `${name}: not started`);
    t.match(s.relayed[0]?.msg, { direct: { runId: 0 }, tasks: msg.tasks.map((x) => ({ key: x.key })) }, `${name}: passed on`);
  }
});

t.test('bad input is answered with an error and not passed on', async (t) => {
  const cases: Array<[string, Uint8Array]> = [
    ['not a message', new Uint8Array([0xff, 0xff, 0xff])],
    ['not a submission', encodeMessage({ type: 'statusRequest' })],
    ['a submission passed on already', encodeMessage(lone({ direct: { workerId: 'w9', epoch: 1, runId: FIRST_RUN } }))],
  ];
  for (const [name, bytes] of cases) {
    const s = setup();
    s.direct.onMessage(s.request(bytes));
    t.same(s.relayed, [], `${name}: not passed on`);
    t.same(s.started, [], `${name}: not started`);
    t.match(s.answers, [{ type: 'error', error: { code: 'MALFORMED_MESSAGE' } }], `${name}: answered with an error`);
    t.equal(s.warnings.length, 1, `${name}: logged`);
  }
});

t.test('a relay that fails is logged; the client\'s request then times out and goes to the coordinator', async (t) => {
  const s = setup(false, true);
  t.doesNotThrow(() => s.direct.onMessage(s.request(lone())));
  t.equal(s.warnings.length, 1);
});

const serializer = { id: 'msgpack', module: '' };
const ok = { ok: true as const, nbytes: 1, serializer };
const directAssign = (key: string): WireAssign => ({ id: `c1/${key}`, runId: FIRST_RUN, attempt: 1, spec: spec(key), deps: [], tellClient: true });
const types = (cmds: WorkerCommand[]): string[] =>
  cmds.map((c) => `${c.type}:${'assign' in c ? `${c.assign.id}#${c.assign.runId}` : 'id' in c ? `${c.id}#${'runId' in c ? c.runId : ''}` : ''}`);

t.test('worker state: a task starts at once only with a free thread, nothing queued, and the task unknown here', async (t) => {
  const ws = new WorkerState({ threads: 1, transfersMax: 1 });
  t.ok(ws.startsAtOnce('c1/a'), 'idle');
  t.same(types(ws.handle({ type: 'assigned', stimulusId: 's1', tasks: [directAssign('a')] })), [`execute:c1/a#${FIRST_RUN}`]);
  t.notOk(ws.startsAtOnce('c1/b'), 'its one thread is busy');
  t.notOk(ws.startsAtOnce('c1/a'), 'a task it runs');
  ws.handle({ type: 'executed', stimulusId: 's2', id: 'c1/a', runId: FIRST_RUN, outcome: ok });
  t.ok(ws.startsAtOnce('c1/b'), 'free again');
  t.notOk(ws.startsAtOnce('c1/a'), 'a result it holds');
  ws.handle({ type: 'paused', stimulusId: 's3', paused: true });
  t.notOk(ws.startsAtOnce('c1/b'), 'paused (memory)');
  ws.validate();
});

t.test('worker state: the scheduler\'s run of a task replaces a direct run of it, never the other way round', async (t) => {
  const ws = new WorkerState({ threads: 1, transfersMax: 1 });
  ws.handle({ type: 'assigned', stimulusId: 's1', tasks: [directAssign('a')] });
  const out = ws.handle({ type: 'assigned', stimulusId: 's2', tasks: [{ ...directAssign('a'), runId: 4 }] });
  t.same(types(out), [`abort:c1/a#${FIRST_RUN}`, 'execute:c1/a#4'], 'a run the scheduler assigns counts as newer');
  t.same(ws.handle({ type: 'assigned', stimulusId: 's3', tasks: [directAssign('a')] }), [], 'a direct run after it is a stale delivery');
  t.same(types(ws.handle({ type: 'cancelled', stimulusId: 's4', id: 'c1/a', runId: FIRST_RUN })), [], 'cancelling the direct run leaves run 4');
  ws.validate();
});

t.test('the submission of a run started here goes in the worker\'s next report; one only passed on goes at once', async (t) => {
  const s = setup();
  s.direct.onMessage(s.request(lone()));
  t.same(s.relayed, [], 'held while the run goes on');
  s.direct.onMessage(s.request(lone({ tasks: [spec('j'), spec('i')], wants: ['j'] })));
  t.same(s.relayed.map((r) => r.subject), ['floe.x.coord.submit'], 'not a lone task: passed on at once');
  s.report();
  t.same(s.relayed.map((r) => `${r.subject}:${r.msg.tasks[0]!.key}`), ['floe.x.coord.submit:j', 'report:k'], 'the started one goes in the report');
  s.report();
  t.equal(s.relayed.length, 2, 'once');
  t.equal(s.reports.asked, 0, 'a report went out in time: none asked for');
});

t.test('with no report going out soon, the worker is asked for one; closing asks for one too', async (t) => {
  const s = setup();
  const asked = new Promise<void>((resolve) => (s.reports.onAsk = resolve));
  s.direct.onMessage(s.request(lone()));
  await asked;
  t.equal(s.reports.asked, 1, 'asked once, by the timer');
  s.report();
  t.same(s.relayed.map((r) => r.msg.tasks[0]!.key), ['k']);
  s.direct.onMessage(s.request(lone({ tasks: [spec('j')], wants: ['j'] })));
  s.direct.close();
  t.equal(s.reports.asked, 2, 'close asks for a report while a submission is held');
  s.report();
  t.same(s.relayed.map((r) => r.msg.tasks[0]!.key), ['k', 'j']);
  s.direct.close();
  t.equal(s.reports.asked, 2, 'nothing held: no report asked for');
});

t.test('a submission without a reply subject is passed on at once, even when started', async (t) => {
  const s = setup();
  s.direct.onMessage({ ...s.request(lone()), replyTo: undefined, expectsReply: false });
  t.equal(s.started.length, 1);
  t.same(s.relayed.map((r) => r.subject), ['floe.x.coord.submit']);
});
