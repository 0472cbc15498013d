/**
 * What the task-lag floor's processes (bench/lag-floor.ts, its hub, nodes and pool thread)
 * send one another. A module of its own, so that the hub, the nodes and the pool thread
 * load only this and msgpackr, not the bench's cluster code.
 */
import { Packr } from 'msgpackr';

/** Subjects of the floor's own nats-server; the hub answers requests on `ping` (lag-floor.ts settles a round with one). */
export const FLOOR_SUBJECTS = { hub: 'floor.hub', node: (i: number): string => `floor.node.${i}`, client: 'floor.client', ping: 'floor.ping' };
/** Node processes, as floe's local cluster has workers. */
export const FLOOR_NODES = 2;
/** A task as the floor sends it: its index in the shape, and its input's (NO_INPUT for a root). */
export type FloorTask = [index: number, input: number];
export const NO_INPUT = -1;
/** A piece, from the client to the hub and from the hub to a node: its round, and its tasks in submission order. */
export interface FloorPiece {
  round: number;
  tasks: FloorTask[];
}
/** What a node's pool thread runs: tasks in order, with the results they take from outside the chunk. */
export interface FloorChunk {
  tasks: FloorTask[];
  inputs: Array<[index: number, bytes: Uint8Array]>;
}

/** A piece's tasks cut where flows start (its first part may be the rest of a flow cut between pieces). */
export function floorFlows(tasks: readonly FloorTask[]): FloorTask[][] {
  const flows: FloorTask[][] = [];
  for (const task of tasks) {
    if (task[1] === NO_INPUT || flows.length === 0) flows.push([task]);
    else flows.at(-1)!.push(task);
  }
  return flows;
}

/** The packer of every floor message and result (plain values only, as floe's flat results). */
export const floorPackr = new Packr({ structuredClone: false });
