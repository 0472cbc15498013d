/**
 * How long this machine takes to run a process woken by a message, by how long the CPU it
 * last ran on had been idle. Every hop of a round (client → nats-server → coordinator →
 * nats-server → worker → pool thread) wakes a thread that may have last run on an idle CPU;
 * on bare metal that costs microseconds, on a virtual machine whose host gives an idle
 * virtual CPU's core away it can cost milliseconds (2026-12-06, this project's 2-core VM,
 * 40 wakes per case: woken on a CPU idle for 3 ms or more, the process ran 2.4–2.6 ms after
 * the write (median), over 1 ms in four wakes of five; on one idle for 1 ms or less, or on
 * the waker's own busy CPU, after 60–75 µs). The task-lag rounds start after the let-go's
 * idle time (bench/let-go.ts), and the floor's rounds start the same way (bench/lag-floor.ts
 * SETTLE_IDLE_MS).
 *
 * This process (the waker) stays on CPU 0; the wakee (bench/cpu-wake-child.ts) reads a TCP
 * socket on loopback. Before each wake the wakee runs once on the CPU the case says (CPU 1,
 * "other", or CPU 0, "same", pinned with taskset and then let free), the CPUs stay idle
 * but the waker's for the gap, then the waker writes one byte and stays busy for SPIN_MS
 * (as a client submitting a big graph is): the wake time is from the write to the wakee's
 * read callback (both on the monotonic clock).
 *
 *   node dist/bench/cpu-wake.js [wakes per case]   (default 100)
 *
 * Linux only, 2 CPUs or more, taskset (util-linux).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { startSibling } from './child.ts';
import { quantile } from './stats.ts';

/** Idle time of the wakee's CPU before a wake, ms. */
const GAPS_MS = [0.1, 1, 3, 10, 100];
/** The waker stays busy this long after its write, ms. */
const SPIN_MS = 5;
/** Gaps shorter than this are spent busy on the waker's CPU (a timer's resolution is a millisecond). */
const SLEEP_FROM_MS = 3;

const wakes = Number(process.argv[2] ?? 100);
if (process.platform !== 'linux' || availableParallelism() < 2) {
  console.error('cpu-wake: needs Linux and 2 CPUs or more');
  process.exit(2);
}

/** Lets `pid`'s threads run only on `cpus` (a taskset list, e.g. "1" or "0-1"). */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
}

function busyFor(ms: number): void {
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < end);
}

const server = createServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const accepted = once(server, 'connection') as Promise<[Socket]>;
const child = await startSibling('cpu-wake-child', { port: (server.address() as AddressInfo).port });
try {
  const [socket] = await accepted;
  socket.setNoDelay(true);
  // The wakee's answers, one monotonic time (ns) per byte written to it, in order.
  const answers = createInterface({ input: socket })[Symbol.asyncIterator]();
  const answer = async (): Promise<bigint> => {
    const next = await answers.next();
    if (next.done === true) throw new Error('cpu-wake: the wakee closed its socket');
    return BigInt(next.value);
  };
  const wakeePid = child.child.pid!;
  pin(process.pid, '0');
  console.log(`wake time of a process reading a loopback socket, by how long the CPU it last ran on was idle (${wakes} wakes per case; the waker busy for ${SPIN_MS} ms after its write)`);
  console.log(`${'wakee last ran on'.padEnd(24)} ${'idle ms'.padStart(8)} ${'p25 µs'.padStart(8)} ${'median'.padStart(8)} ${'p75'.padStart(8)} ${'> 1 ms'.padStart(7)}`);
  for (const [label, cpu] of [
    ['the other CPU (1)', '1'],
    ["the waker's CPU (0)", '0'],
  ] as const) {
    for (const gapMs of GAPS_MS) {
      const us: number[] = [];
      for (let i = 0; i < wakes; i++) {
        pin(wakeePid, cpu);
        socket.write('w');
        await answer(); // it ran there
        pin(wakeePid, '0-1');
        if (gapMs < SLEEP_FROM_MS) busyFor(gapMs);
        else await new Promise((resolve) => setTimeout(resolve, gapMs));
        const sent = process.hrtime.bigint();
        socket.write('x');
        busyFor(SPIN_MS);
        us.push(Number((await answer()) - sent) / 1000);
      }
      const late = us.filter((u) => u > 1000).length / us.length;
      const cells = [0.25, 0.5, 0.75].map((q) => quantile(us, q).toFixed(0).padStart(8));
      console.log(`${label.padEnd(24)} ${String(gapMs).padStart(8)} ${cells.join(' ')} ${`${(100 * late).toFixed(0)}%`.padStart(7)}`);
    }
  }
} finally {
  await child.stop();
  server.close();
}
