// Tasks of the word-count example. Tasks live in modules and must be exported:
// workers import this module in their pool threads and look the task up by name.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { task } from 'floe';

const WORDS = ['river', 'stone', 'light', 'cloud', 'ember', 'north', 'quiet', 'field', 'glass', 'orbit', 'maple', 'delta'];

/** Writes `files` text files of pseudo-random words (deterministic per seed); returns their paths. */
export const writeCorpus = task(import.meta.url, async (dir: string, files: number, linesPerFile: number, seed: number) => {
  await mkdir(dir, { recursive: true });
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % WORDS.length;
  };
  const paths: string[] = [];
  for (let f = 0; f < files; f++) {
    const lines: string[] = [];
    for (let l = 0; l < linesPerFile; l++) lines.push(Array.from({ length: 8 }, () => WORDS[next()]).join(' '));
    const path = join(dir, `part-${String(f).padStart(3, '0')}.txt`);
    await writeFile(path, lines.join('\n') + '\n');
    paths.push(path);
  }
  return paths;
});

/** Map: counts the words of one file. */
export const countWords = task(import.meta.url, async (path: string) => {
  const counts: Record<string, number> = {};
  for (const word of (await readFile(path, 'utf8')).split(/\s+/)) {
    if (word !== '') counts[word] = (counts[word] ?? 0) + 1;
  }
  return counts;
});

/** Reduce: merges per-file counts. */
export const mergeCounts = task(import.meta.url, (parts: Record<string, number>[]) => {
  const total: Record<string, number> = {};
  for (const part of parts) for (const [word, n] of Object.entries(part)) total[word] = (total[word] ?? 0) + n;
  return total;
});

/** The `n` most frequent words, most frequent first. */
export const topWords = task(import.meta.url, (counts: Record<string, number>, n: number) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n),
);
