// CPU per task by process (bench/cpu.ts) and the throughput scenario's CPU rows. The child
// below spins until it has used a set amount of CPU time (by its own account, not the
// clock), so what the meter must see is known whatever the machine's load.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import t from 'tap';
import { CpuMeter, cpuSeconds } from '../../bench/cpu.ts';
import { cpuValues } from '../../bench/scenarios/throughput.ts';

const BURN_MS = 200;
/** /proc counts CPU in ticks of 10 ms: a reading at either end may be a tick short. */
const TICK_MS = 10;

t.test('the meter sees the CPU a process used since it was made, and nothing from before', async (t) => {
  const script = `
    const rl = require('node:readline').createInterface({ input: process.stdin });
    const burn = (ms) => { const s = process.cpuUsage(); while ((process.cpuUsage(s).user + process.cpuUsage(s).system) / 1000 < ms); };
    burn(${BURN_MS}); // before the meter: must not count
    console.log('ready');
    rl.once('line', () => { burn(${BURN_MS}); console.log('done'); });
    rl.once('close', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  t.equal((await lines.next()).value, 'ready');
  const meter = new CpuMeter([{ name: 'child', pid: child.pid! }]);
  child.stdin.write('go\n');
  t.equal((await lines.next()).value, 'done');
  const usedMs = meter.usPerTask(1000).child!; // µs per task over 1,000 tasks = ms in all
  t.ok(usedMs >= BURN_MS - 2 * TICK_MS - 1e-6, `saw ${usedMs} ms, burnt ${BURN_MS}`);
  t.ok(usedMs < 2 * BURN_MS, `saw ${usedMs} ms: the ${BURN_MS} ms burnt before the meter must not count`);
  child.stdin.end();
  await once(child, 'exit');
  t.equal(cpuSeconds(child.pid!), undefined, 'a process that is gone reads as unknown');
  t.same(meter.usPerTask(1), {}, 'and is left out');
});

t.test('this process reads as a number of seconds', async (t) => {
  const s = cpuSeconds(process.pid);
  t.type(s, 'number');
  t.ok(s! > 0);
});

t.test('CPU rows: every process, each role, the workers summed; only what was measured', async (t) => {
  t.same(cpuValues({ 'nats-server': 8, coordinator: 30, 'worker 0': 25, 'worker 1': 27, client: 20 }), {
    'CPU, all processes': 110,
    'CPU, coordinator': 30,
    'CPU, workers': 52,
    'CPU, nats-server': 8,
    'CPU, client': 20,
  });
  t.same(cpuValues({ all: 80 }), { 'CPU, all processes': 80 }, 'embedded: one process');
  t.same(cpuValues({}), {}, 'Dask and BullMQ runs have none');
});
