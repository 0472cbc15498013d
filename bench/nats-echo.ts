/**
 * Child process of the latency benchmark: answers every request on one subject with its
 * own payload, prints "ready", and exits when its stdin closes.
 *   node bench/nats-echo.js '{"url":"nats://127.0.0.1:4222","subject":"echo"}'
 */
import { connect } from '@nats-io/transport-node';

const { url, subject } = JSON.parse(process.argv[2] ?? '{}') as { url: string; subject: string };
const nc = await connect({ servers: url });
nc.subscribe(subject, { callback: (_error, msg) => void msg.respond(msg.data) });
await nc.flush();
process.stdin.on('close', () => void nc.close().then(() => process.exit(0))).resume();
process.stdout.write('ready\n');
