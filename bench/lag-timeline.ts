/**
 * What happens when in a few task-lag rounds on a local cluster (nats-server, coordinator, 2
 * workers × 1 thread), after the same warm-up as the task-lag scenario's and each round
 * started as the bench starts its rounds (once the cluster has let go of the one before,
 * bench/let-go.ts): per round, the submit loop, each request the client sent the
 * coordinator (its size, when it went and when its answer reached the client, in ms after
 * the submit call; the client reads nothing while its submit loop runs, so no answer is
 * seen before the loop ends), and each worker's pool thread as stretches of work (runs less
 * than STRETCH_GAP_MS apart, with the task indices in them). Then the medians over the
 * rounds shown.
 *
 * lag-breakdown.ts says how much of the lag is roots' and when the first and last root
 * started; this says why they started then: which piece of the submission a stretch ran,
 * and how long each pool thread waited between stretches. On 2026-12-07 (2-core VM,
 * linear-100x10, total lag 1.6–2.9 s in eight rounds) the five requests of a round had all
 * gone 3–9 ms after the submit call, the first answer reached the client after 4–16 ms, and
 * each worker ran the pieces' tasks in stretches of 0.2–1 ms with waits of 3–10 ms between
 * them: its pool thread ran for about a seventh of the time from its first task to its last.
 *
 *   node dist/bench/lag-timeline.js [shape] [rounds]   (default linear-100x10, 3 rounds)
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { connectClient } from '../src/client/connect.ts';
import { subjects } from '../src/transport/messages.ts';
import { untilLetGo } from './let-go.ts';
import { notingTransport, type SentRequest } from './noting-transport.ts';
import { flatten, submitShape, timedTasks, WARMUP_SHAPE_ROUNDS } from './scenarios/task-lag.ts';
import { lagShape, lagShapeArg, median, rootStartsMs, stretchesByPid, stretchTimes, taskLag, type Stretch } from './stats.ts';
import { placedStamp, type PlacedStamp } from './tasks.ts';
import { systemClock } from '../src/util/clock.ts';

const [shapeArg, roundsArg] = process.argv.slice(2);
const shape = lagShapeArg(shapeArg);
const rounds = Number(roundsArg ?? 3);
/** Runs of one pool thread less than this apart (ms) are one stretch of work. */
const STRETCH_GAP_MS = 0.05;

const ms = (x: number): string => x.toFixed(1);
const stretchText = (st: Stretch, at: number): string => `${ms(st.startMs - at)}–${ms(st.endMs - at)} #${st.first}–${st.last} (${st.runs})`;

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const sent: SentRequest[] = [];
const client = await connectClient({ nats: handle.url, cluster: handle.cluster }, (transport) => notingTransport(transport, subjects(handle.cluster).submit, sent));
const graph = flatten(lagShape(shape, 1));
const summary: Record<string, number[]> = { totalS: [], loopMs: [], firstAnsweredMs: [], lastSentMs: [], firstRootMs: [], lastRootMs: [], poolRunMs: [], poolWaitMs: [] };
try {
  for (let rep = 0; rep < WARMUP_SHAPE_ROUNDS + rounds; rep++) {
    await untilLetGo(client, 'lag-timeline');
    sent.length = 0;
    const submitMs = systemClock.now();
    const futures = submitShape(client, graph, placedStamp);
    const loopMs = systemClock.now() - submitMs;
    const stamps = (await client.gather(futures)) as PlacedStamp[];
    for (const f of futures) f.release();
    if (rep < WARMUP_SHAPE_ROUNDS) continue;
    const tasks = timedTasks(graph, stamps);
    const roots = rootStartsMs(tasks, submitMs);
    const totalS = taskLag(tasks, submitMs).totalS;
    console.log(`round ${rep - WARMUP_SHAPE_ROUNDS + 1}: total lag ${totalS.toFixed(3)} s, submit loop ${ms(loopMs)} ms`);
    console.log(`  requests (kB sent → answered): ${sent.map((r) => `${(r.bytes / 1000).toFixed(1)} ${ms(r.sentMs - submitMs)} → ${ms(r.answeredMs - submitMs)}`).join(', ')}`);
    const byPid = stretchesByPid(stamps, STRETCH_GAP_MS);
    for (const [pid, own] of byPid) console.log(`  pool of pid ${pid}: ${own.map((st) => stretchText(st, submitMs)).join(', ')}`);
    const pool = stretchTimes(byPid);
    const row = {
      totalS,
      loopMs,
      firstAnsweredMs: Math.min(...sent.map((r) => r.answeredMs)) - submitMs,
      lastSentMs: Math.max(...sent.map((r) => r.sentMs)) - submitMs,
      firstRootMs: Math.min(...roots),
      lastRootMs: Math.max(...roots),
      poolRunMs: pool.runMs,
      poolWaitMs: pool.waitMs,
    };
    for (const [key, value] of Object.entries(row)) summary[key]!.push(value);
  }
} finally {
  await client.close();
  await handle.stop();
}
console.log(`${shape}: medians of the ${rounds} rounds above (after ${WARMUP_SHAPE_ROUNDS} warm-up); pool times are per worker`);
for (const [key, values] of Object.entries(summary)) console.log(`  ${key.padEnd(16)} ${median(values).toFixed(3)}`);
