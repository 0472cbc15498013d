/**
 * Hub of the task-lag floor (bench/lag-floor.ts), where floe has its coordinator: deals the
 * flows of each piece to the nodes in turn, whole, with no other bookkeeping. Prints "ready"
 * and exits when its stdin closes.
 *   node bench/lag-floor-hub.js '{"url":"nats://127.0.0.1:4222"}'
 */
import { connect } from '@nats-io/transport-node';
import { floorFlows, FLOOR_NODES, FLOOR_SUBJECTS, floorPackr, NO_INPUT, type FloorPiece, type FloorTask } from './lag-floor-wire.ts';

const { url } = JSON.parse(process.argv[2] ?? '{}') as { url: string };
const nc = await connect({ servers: url });
let next = 0;
nc.subscribe(FLOOR_SUBJECTS.hub, {
  callback: (_error, msg) => {
    const { round, tasks } = floorPackr.unpack(msg.data) as FloorPiece;
    const dealt: FloorTask[][] = Array.from({ length: FLOOR_NODES }, () => []);
    for (const flow of floorFlows(tasks)) {
      // A flow starting here goes to the next node; the rest of one cut between pieces, where its start went.
      if (flow[0]![1] === NO_INPUT) next = (next + 1) % FLOOR_NODES;
      dealt[next]!.push(...flow);
    }
    dealt.forEach((mine, i) => mine.length > 0 && nc.publish(FLOOR_SUBJECTS.node(i), floorPackr.pack({ round, tasks: mine } satisfies FloorPiece)));
  },
});
// As floe's coordinator answers the status requests of the bench's let-go (lag-floor.ts settle).
nc.subscribe(FLOOR_SUBJECTS.ping, { callback: (_error, msg) => void msg.respond() });
await nc.flush();
process.stdin.on('close', () => void nc.close().then(() => process.exit(0))).resume();
process.stdout.write('ready\n');
