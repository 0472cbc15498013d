/**
 * Locates floe's package root (the directory whose package.json is named 'floe'), from
 * src/ (run through tsx) as well as from dist/src/ (compiled).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FloeError } from '../errors.ts';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && readName(pj) === 'floe') {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new FloeError('INTERNAL', `cannot find floe's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function readName(file: string): unknown {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}
