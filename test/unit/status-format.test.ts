// `floe status` as printed: the cluster's counts, one row per worker (with the times it
// started over after being declared lost), and why tasks wait.
import t from 'tap';
import { formatStatus } from '../../cluster/commands/status.ts';

t.test('a status as floe status prints it', async (t) => {
  const text = formatStatus({
    clients: 2,
    tasks: { memory: 3, processing: 1, erred: 0 },
    waiting: [{ id: 'c1/k', reason: 'needs gpu=1; no worker has it' }],
    workers: [
      {
        id: 'w-1', name: 'worker-0', address: 'a:1', threads: 2, processing: 1, held: 3, resources: { gpu: 1 }, retiring: false, epoch: 3, metricsAgeMs: 250,
        metrics: { executing: 1, tasks: 4, held: 3, heldBytes: 2_500_000, rssBytes: 120_000_000, executed: 9, fetched: 1, fetchedBytes: 10 },
      },
      { id: 'w-2', name: 'w-2', address: 'b:2', threads: 1, processing: 0, held: 0, resources: {}, retiring: true, epoch: 1, metrics: undefined, metricsAgeMs: 0 },
    ],
  });
  const lines = text.split('\n');
  t.equal(lines[0], 'clients: 2   workers: 2');
  t.equal(lines[1], 'tasks: memory=3  processing=1', 'states with no task left out');
  t.same(lines[3]!.split('\t'), ['worker', 'threads', 'running', 'in flight', 'keys held', 'held MB', 'rss MB', 'heartbeat', 'started over', 'resources']);
  t.same(lines[4]!.split('\t'), ['worker-0 (w-1)', '2', '1', '1', '3', '2.5', '120', '0.3 s ago', '2', 'gpu=1']);
  t.same(lines[5]!.split('\t'), ['w-2, retiring', '1', '-', '0', '0', '-', '-', '-', '0', '-'], 'a retiring worker says so');
  t.equal(lines.at(-1), '  c1/k: needs gpu=1; no worker has it');
});
