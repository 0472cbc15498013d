// One survey task per region; each fans out over a number of sites it finds at run time.
//
//   floe run examples/dynamic-fanout/flow.ts '["north","south","east"]'
import { flow } from 'floe';
import { survey } from './tasks.ts';

export default flow('dynamic-fanout', (regions: string[] = ['north', 'south', 'east', 'west']) => regions.map((r) => survey(r)));
