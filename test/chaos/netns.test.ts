// Multi-host: NATS, the coordinator, a client and three workers each on its own "host"
// (a network namespace) joined by veth links to a bridge. A flow with peer-to-peer
// transfers runs across them; one worker host's link is cut mid-flow; every result must
// be right. Needs root to create namespaces: without it, the test says so and checks
// that the reason is a permission error (it is never skipped silently).
import { createInterface } from 'node:readline';
import t from 'tap';
import { EXIT_WITH_PARENT_ENV } from '../../cluster/common.ts';
import { cliPath } from '../../cluster/local-cluster.ts';
import { createTopology, probeNetns, type Host, type Topology } from '../../cluster/netns/topology.ts';
import type { WireClusterStatus } from '../../src/transport/messages.ts';
import { chaosSeed, HEARTBEAT_TIMEOUT_MS } from './helpers.ts';

const NATS_PORT = 4222;

t.test('a cluster over network namespaces survives a worker host cut off mid-flow', async (t) => {
  const probe = await probeNetns();
  if (!probe.ok) {
    t.comment(`netns unavailable: ${probe.reason}`);
    t.ok(probe.permission, `cannot create network namespaces for lack of privileges, not for another reason: ${probe.reason}`);
    return;
  }
  const { seed, random } = chaosSeed(t, 'test/chaos/netns.test.ts');
  const topo: Topology = await createTopology(`floe${process.pid}`);
  t.teardown(() => topo.destroy());
  const nats = topo.host('nats');
  const url = `nats://${nats.ip}:${NATS_PORT}`;
  const node = (host: Host, args: string[]) =>
    topo.spawn(host, process.execPath, [cliPath(), ...args, '--nats', url, '--log-level', 'warn'], {
      // stdin: a lifeline pipe, so nothing outlives this test even if it is killed.
      stdio: ['pipe', 'ignore', process.env.FLOE_CHAOS_STDERR === 'inherit' ? 'inherit' : 'ignore'],
      env: { ...process.env, NODE_OPTIONS: '', [EXIT_WITH_PARENT_ENV]: '1' },
    });

  // NATS first: it says when it is ready.
  const server = topo.spawn(nats, 'nats-server', ['-a', nats.ip, '-p', String(NATS_PORT)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let text = '';
    server.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (/Server is ready/.test(text)) resolve();
    });
    server.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${text}`)));
  });
  node(topo.host('coord'), ['coordinator', '--heartbeat-timeout', String(HEARTBEAT_TIMEOUT_MS)]);
  const workers = topo.hosts.filter((h) => h.name.startsWith('w'));
  for (const w of workers) {
    node(w, [
      'worker', '--name', w.name, '--threads', '1', '--host', w.ip, '--port', '7000',
      '--heartbeat-interval', '200', '--retire-timeout', '0',
    ]);
  }

  const victim = workers[Math.floor(random() * workers.length)]!;
  const cutAt = 40 + Math.floor(random() * 120);
  t.comment(`cutting ${victim.name} (${victim.ip}) after ${cutAt} of 300 pair results`);
  const driver = topo.spawn(
    topo.host('client'),
    process.execPath,
    ['--import=tsx', new URL('./netns-driver.ts', import.meta.url).pathname, url, String(seed), '300'],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  // Fail cleanly (with teardown) well before tap's own timeout if the flow never ends.
  const deadline = setTimeout(() => driver.kill('SIGKILL'), 90_000);
  t.teardown(() => clearTimeout(deadline));
  let cut: Promise<void> | undefined;
  let result: { tasks: number; wrong: string[]; workers: string[]; erred: number; fetched: number } | undefined;
  for await (const line of createInterface({ input: driver.stdout! })) {
    const msg = JSON.parse(line) as { type: string; done?: number };
    if (msg.type === 'progress' && msg.done === cutAt) cut = topo.cutLink(victim);
    if (msg.type === 'result') result = msg as unknown as typeof result;
  }
  await cut;
  t.ok(cut !== undefined, `${victim.name}'s link was cut mid-flow`);
  t.ok(result !== undefined, 'the driver reported a result');
  if (result === undefined) return;
  t.comment(`${result.tasks} tasks over 6 hosts; ${result.fetched} peer-to-peer fetches counted by live workers`);
  t.same(result.wrong, [], 'every result present and correct');
  t.equal(result.erred, 0, 'nothing erred');
  t.notOk(result.workers.includes(victim.name), `${victim.name} was declared lost`);

  // Reconnected, the host comes back: its worker registers again.
  await topo.restoreLink(victim);
  const status = async (): Promise<WireClusterStatus | undefined> => {
    const out = await topo.exec(topo.host('client'), process.execPath, [cliPath(), 'status', '--json', '--nats', url]).catch(() => '');
    return out === '' ? undefined : (JSON.parse(out) as WireClusterStatus);
  };
  let back = false;
  for (let i = 0; i < 60 && !back; i++) back = (await status())?.workers.some((w) => w.name === victim.name) ?? false;
  t.ok(back, `${victim.name} registered again after its link came back`);
  t.comment(`faults: 1 link cut injected, ${result.wrong.length === 0 ? 1 : 0} survived`);
});
