/**
 * The wakee of bench/cpu-wake.ts: connects to the address it is given and answers every
 * byte it reads with the monotonic clock (ns) at which its read callback ran. Prints
 * "ready" once connected and exits when its stdin closes.
 *   node bench/cpu-wake-child.js '{"port":40000}'
 */
import { connect } from 'node:net';

const { port } = JSON.parse(process.argv[2] ?? '{}') as { port: number };
const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => process.stdout.write('ready\n'));
socket.on('data', (chunk: Buffer) => {
  const at = process.hrtime.bigint();
  for (let i = 0; i < chunk.length; i++) socket.write(`${at}\n`);
});
process.stdin.on('close', () => process.exit(0)).resume();
