// A process's young generation is collected once its I/O has gone quiet (util/idle-gc.ts).
import { join } from 'node:path';
import t from 'tap';
import { IdleGc, youngGenerationFull } from '../../src/util/idle-gc.ts';
import { node } from '../helpers/cli.ts';

/** An IdleGc whose timer is run by hand, counting the collections it asks for. */
function harness(full = true): { idle: IdleGc; timers: (() => void)[]; asked: string[]; fire: () => void } {
  const timers: (() => void)[] = [];
  const asked: string[] = [];
  const idle = new IdleGc({
    gc: (options) => asked.push(`${options.type}/${options.execution}`),
    idleMs: 10,
    shouldCollect: () => full,
    setTimer: (fn, ms) => {
      if (ms !== 10) throw new Error(`timer of ${ms} ms`);
      timers.push(fn);
    },
  });
  const fire = (): void => {
    const fn = timers.shift();
    if (fn === undefined) throw new Error('no timer set');
    fn();
  };
  return { idle, timers, asked, fire };
}

t.test('a minor collection once a whole idle period passes without I/O', async (t) => {
  const { idle, timers, asked, fire } = harness();
  idle.touch();
  t.equal(timers.length, 1, 'the first I/O sets the timer');
  idle.touch();
  idle.touch();
  t.equal(timers.length, 1, 'more I/O sets no second timer');
  fire();
  t.same(asked, [], 'I/O came during the period: not idle yet');
  t.equal(timers.length, 1, 'watched for another period');
  fire();
  t.same(asked, ['minor/sync'], 'a quiet period: collected, at once');
  t.equal(idle.collections, 1);
  t.equal(timers.length, 0, 'an idle process has no timer');
  idle.touch();
  t.equal(timers.length, 1, 'the next I/O watches again');
  fire();
  t.same(asked, ['minor/sync', 'minor/sync']);
});

t.test('nothing collected when the young generation is not worth it', async (t) => {
  const { idle, timers, asked, fire } = harness(false);
  idle.touch();
  fire();
  t.same(asked, []);
  t.equal(idle.collections, 0);
  t.equal(timers.length, 0, 'and no timer left');
});

t.test('without an exposed collector nothing is watched', async (t) => {
  const timers: (() => void)[] = [];
  const idle = new IdleGc({ gc: undefined, setTimer: (fn) => timers.push(fn) });
  idle.touch();
  t.equal(timers.length, 0);
});

t.test('the young generation\'s fill is read from V8', async (t) => {
  t.equal(youngGenerationFull(0), true, 'any use is a share of at least 0');
  t.equal(youngGenerationFull(1.01), false, 'no space is more than full');
});

t.test('in a process with --expose-gc, the young generation is collected once idle', async (t) => {
  const fixture = join(import.meta.dirname, '..', 'fixtures', 'idle-gc-process.ts');
  const out = await node('--expose-gc', '--import=tsx', fixture);
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), { exposed: true, collections: 1, emptied: true });
  const without = await node('--import=tsx', fixture);
  t.equal(without.code, 0, without.stderr);
  t.same(JSON.parse(without.stdout), { exposed: false }, 'without the flag there is no collector to call');
});
