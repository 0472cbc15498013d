// An actor counter: one instance on a worker, called from this script and from tasks.
//
//   npx tsx examples/actor-counter/main.ts                       # embedded
//   FLOE_NATS=nats://127.0.0.1:4222 npx tsx examples/actor-counter/main.ts
import { Client } from 'floe';
import { Counter, tally } from './counter.ts';

const nats = process.env.FLOE_NATS;
const client = nats ? await Client.connect({ nats }) : await Client.local({ threads: 2 });
try {
  const counter = client.actor(Counter, 100);
  // Calls run one at a time, in the order they are made: these see 101, 102, 103.
  const firsts = await client.gather([counter.add(1), counter.add(1), counter.add(1)]);
  // Two tasks share the counter through its handle; no increment is lost.
  await client.gather([client.submit(tally, counter, 10), client.submit(tally, counter, 10)]);
  const total = await counter.value().result();
  console.log(JSON.stringify({ firsts, total }));
  counter.$release(); // frees the instance on its worker
} finally {
  await client.close();
}
