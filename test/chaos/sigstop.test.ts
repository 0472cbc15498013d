// Chaos: freeze a worker with SIGSTOP for longer than the heartbeat timeout, then
// SIGCONT it. The coordinator declares it lost and reschedules its work; when it wakes
// up, its stale reports are refused and it starts over and registers again, once per
// freeze however many stale messages it had sent (its incarnation, WorkerEvents.epoch,
// counts them). Nothing is computed twice into a wrong result. The seed picks when and whom.
import t from 'tap';
import { pollStatus, runScenario, workerIdsByName, workerPidOf, WORKER_NAMES } from './helpers.ts';

t.test('SIGSTOP past the heartbeat timeout, then SIGCONT: lost, back, every result right', async (t) => {
  const stops = new Map<string, number>();
  const cluster = await runScenario(t, {
    file: 'test/chaos/sigstop.test.ts',
    fault: 'SIGSTOP/SIGCONT',
    faults: 2,
    async inject(cluster, _index, random) {
      const v = Math.floor(random() * 3);
      const name = WORKER_NAMES[v]!;
      const id = (await workerIdsByName(cluster, WORKER_NAMES)).get(name)!;
      const pid = await workerPidOf(cluster.workers[v]!);
      t.comment(`SIGSTOP ${name} (pid ${pid})`);
      stops.set(name, (stops.get(name) ?? 0) + 1);
      process.kill(pid, 'SIGSTOP');
      try {
        await pollStatus(cluster, `${name} declared lost`, (s) => !s.workers.some((w) => w.id === id));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      // It re-registers (same process, so the nanny did not restart anything).
      await pollStatus(cluster, `${name} registered again`, (s) => s.workers.some((w) => w.name === name));
      t.equal(await workerPidOf(cluster.workers[v]!), pid, `${name} came back as the same process`);
    },
  });
  const s = await pollStatus(cluster, 'status', () => true);
  const epochs = Object.fromEntries(s.workers.map((w) => [w.name, w.epoch]));
  const expected = Object.fromEntries(WORKER_NAMES.map((name) => [name, 1 + (stops.get(name) ?? 0)]));
  t.same(epochs, expected, 'each worker started over once per freeze');
});
