/**
 * A multi-host floe cluster on one machine, for tests: each "host" is a network
 * namespace with one veth link to a bridge in a namespace of its own. Nothing is added to
 * the caller's namespace: the 10.77.0.0/24 addresses exist only inside namespaces this
 * module creates, and every name carries a prefix unique to the run, so `destroy()` (and
 * `destroyTopology(prefix)` after a crash) removes exactly what was made.
 *
 * Hosts: `nats` (10.77.0.2), `coord` (.3), `client` (.4), `w0`..`wN` (.10 + i).
 * Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2.
 *
 * Command line (for trying it by hand): `node --import=tsx cluster/netns/topology.ts up|down PREFIX`.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SUBNET_PREFIX = '10.77.0.';

export interface Host {
  /** Short name: nats, coord, client, w0... */
  name: string;
  /** Network namespace. */
  ns: string;
  ip: string;
}

export interface Topology {
  prefix: string;
  bridgeNs: string;
  hosts: Host[];
  host(name: string): Host;
  /** Runs a command inside a host (the child is the command itself: `ip netns exec` execs it). */
  spawn(host: Host, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command inside a host to completion; resolves with stdout. */
  exec(host: Host, command: string, args: string[]): Promise<string>;
  /** Takes the host's only link down (its side and the bridge's side): it is cut off. */
  cutLink(host: Host): Promise<void>;
  restoreLink(host: Host): Promise<void>;
  /** Kills every process in the namespaces, deletes them (and so their links). Idempotent. */
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args);
  return stdout;
}

function nsName(prefix: string, host: string): string {
  return `${prefix}-${host}`;
}

/** Can this process create network namespaces? Probes with a throwaway one. */
export async function probeNetns(): Promise<{ ok: true } | { ok: false; reason: string; permission: boolean }> {
  const probe = `floe-probe-${process.pid}`;
  try {
    await ip('netns', 'add', probe);
  } catch (error) {
    const text = String((error as { stderr?: string }).stderr ?? (error as Error).message);
    // Only a lack of privileges counts as "cannot here"; a missing `ip` is a setup error.
    const permission = /permission denied|not permitted|EPERM|EACCES/i.test(text);
    return { ok: false, reason: text.trim(), permission };
  }
  await ip('netns', 'del', probe).catch(() => undefined);
  return { ok: true };
}

export async function createTopology(prefix: string, workers = 3): Promise<Topology> {
  if (!/^[a-z0-9-]{1,24}$/.test(prefix)) throw new Error(`netns prefix must be 1-24 of [a-z0-9-] (got ${prefix})`);
  const bridgeNs = nsName(prefix, 'br');
  const hosts: Host[] = [
    { name: 'nats', ns: nsName(prefix, 'nats'), ip: `${SUBNET_PREFIX}2` },
    { name: 'coord', ns: nsName(prefix, 'coord'), ip: `${SUBNET_PREFIX}3` },
    { name: 'client', ns: nsName(prefix, 'client'), ip: `${SUBNET_PREFIX}4` },
    ...Array.from({ length: workers }, (_, i) => ({ name: `w${i}`, ns: nsName(prefix, `w${i}`), ip: `${SUBNET_PREFIX}${10 + i}` })),
  ];
  const topology: Topology = {
    prefix,
    bridgeNs,
    hosts,
    host(name) {
      const h = hosts.find((x) => x.name === name);
      if (h === undefined) throw new Error(`no host ${name} in the netns topology`);
      return h;
    },
    spawn(host, command, args, options = {}) {
      return spawn('ip', ['netns', 'exec', host.ns, command, ...args], options);
    },
    async exec(host, command, args) {
      const { stdout } = await run('ip', ['netns', 'exec', host.ns, command, ...args], { maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    },
    async cutLink(host) {
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'down');
      await ip('-n', bridgeNs, 'link', 'set', bridgePort(host), 'down');
    },
    async restoreLink(host) {
      await ip('-n', bridgeNs, 'link', 'set', bridgePort(host), 'up');
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
    },
    destroy: async () => {
      process.off('exit', onExit);
      await destroyTopology(prefix);
    },
  };
  // Whatever happens to this process (a test timeout, an uncaught error), the namespaces
  // and every process in them go with it.
  const onExit = (): void => destroyTopologySync(prefix);
  process.on('exit', onExit);
  try {
    await ip('netns', 'add', bridgeNs);
    await ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
    for (const host of hosts) {
      await ip('netns', 'add', host.ns);
      await ip('-n', host.ns, 'link', 'set', 'lo', 'up');
      // Created directly inside the two namespaces: no name ever appears in ours.
      await ip('link', 'add', 'eth0', 'netns', host.ns, 'type', 'veth', 'peer', 'name', bridgePort(host), 'netns', bridgeNs);
      await ip('-n', bridgeNs, 'link', 'set', bridgePort(host), 'master', 'br0');
      await ip('-n', bridgeNs, 'link', 'set', bridgePort(host), 'up');
      await ip('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0');
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
    }
  } catch (error) {
    await destroyTopology(prefix);
    throw error;
  }
  return topology;
}

function bridgePort(host: Host): string {
  return `p-${host.name}`;
}

/** destroyTopology for an exiting process (no event loop left). */
export function destroyTopologySync(prefix: string): void {
  const sh = (...args: string[]): string => {
    try {
      return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  const mine = sh('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${prefix}-`));
  for (const ns of mine) {
    for (const pid of sh('netns', 'pids', ns).split(/\s+/).filter((p) => p !== '')) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const ns of mine) sh('netns', 'del', ns);
}

/** Kills the processes in, and deletes, every namespace named `<prefix>-*`. */
export async function destroyTopology(prefix: string): Promise<void> {
  const list = await ip('netns', 'list').catch(() => '');
  const mine = list
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${prefix}-`));
  for (const ns of mine) {
    const pids = await ip('netns', 'pids', ns).catch(() => '');
    for (const pid of pids.split(/\s+/).filter((p) => p !== '')) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const ns of mine) await ip('netns', 'del', ns).catch(() => undefined);
}

// Command line: up|down PREFIX.
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [cmd, prefix] = process.argv.slice(2);
  if ((cmd !== 'up' && cmd !== 'down') || prefix === undefined) {
    console.error('usage: topology.ts up|down PREFIX');
    process.exitCode = 2;
  } else if (cmd === 'up') {
    const t = await createTopology(prefix);
    for (const h of t.hosts) console.log(`${h.name}\t${h.ns}\t${h.ip}`);
  } else {
    await destroyTopology(prefix);
  }
}
