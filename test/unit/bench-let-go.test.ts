// When bench/let-go.ts counts a worker as done letting go: a heartbeat that came after the
// coordinator was idle, showing nothing held, running or assigned.
import t from 'tap';
import { workerLetGo } from '../../bench/let-go.ts';
import type { ClusterStatus } from '../../src/index.ts';

type Worker = ClusterStatus['workers'][number];

const worker = (metrics: Worker['metrics'], metricsAgeMs: number): Worker => ({
  id: 'w1', name: 'w1', address: 'a:1', threads: 1, processing: 0, held: 0, resources: {}, metrics, metricsAgeMs, retiring: false, epoch: 1,
});
const idle = { executing: 0, tasks: 0, held: 0, heldBytes: 0, rssBytes: 1, executed: 10, fetched: 0, fetchedBytes: 0 };

t.test('a heartbeat younger than the wait, with nothing left', async (t) => {
  t.ok(workerLetGo(worker(idle, 100), 250));
  t.notOk(workerLetGo(worker(idle, 300), 250), 'older than the wait: it may predate the release');
  t.notOk(workerLetGo(worker(idle, 250), 250));
  t.notOk(workerLetGo(worker({ ...idle, held: 3 }, 100), 250), 'results still held');
  t.notOk(workerLetGo(worker({ ...idle, executing: 1 }, 100), 250), 'a run still executing');
  t.notOk(workerLetGo(worker({ ...idle, tasks: 2 }, 100), 250), 'tasks still assigned');
  t.ok(workerLetGo(worker(undefined, 0), 0), 'no heartbeat yet: nothing the coordinator does not know of');
});
