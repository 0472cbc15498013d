/**
 * Spill storage: where the object store puts results it cannot keep in memory. One file
 * per spilled object (named by a hash of the task id plus a sequence number, so a result
 * replaced while its old copy is still being written never shares a file), in a private
 * directory created on first use and removed by close(). One file per object keeps it
 * robust: a torn write or a failed read affects one result, and deleting frees the space
 * at once (an append log would need compaction).
 *
 * Every I/O failure becomes a FloeError naming the task id and the file:
 * a failed write is LIMIT_EXCEEDED (memory cannot be freed), a failed or short read is
 * RESULT_UNAVAILABLE (this worker no longer has the result).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloeError } from '../errors.ts';

/** What the store needs from a spill medium; injectable so tests can fail I/O on purpose. */
export interface SpillStorage {
  /** Writes the bytes; resolves to a handle for read/remove. Rejects with a FloeError. */
  write(id: string, bytes: Uint8Array): Promise<string>;
  /** Reads back exactly `nbytes`; rejects with a FloeError (RESULT_UNAVAILABLE). */
  read(id: string, handle: string, nbytes: number): Promise<Uint8Array>;
  /** Removes a spilled copy; never rejects (a leftover file goes with the directory). */
  remove(handle: string): Promise<void>;
  /** Removes everything this storage wrote. */
  close(): Promise<void>;
}

export interface SpillDirectoryOptions {
  /** Directory under which a private spill directory is created. Default: os.tmpdir(). */
  parentDir?: string;
  /** Name prefix of the private directory, e.g. the worker id. */
  prefix?: string;
}

export class SpillDirectory implements SpillStorage {
  readonly #parentDir: string;
  readonly #prefix: string;
  #dir: Promise<string> | undefined;
  #seq = 0;
  #closed = false;

  constructor(options: SpillDirectoryOptions = {}) {
    this.#parentDir = options.parentDir ?? tmpdir();
    this.#prefix = `floe-spill-${(options.prefix ?? '').replace(/[^A-Za-z0-9_-]/g, '_')}-`;
  }

  /** The private directory, once created (undefined before the first spill). */
  async directory(): Promise<string | undefined> {
    return this.#dir === undefined ? undefined : await this.#dir.catch(() => undefined);
  }

  async write(id: string, bytes: Uint8Array): Promise<string> {
    if (this.#closed) throw new FloeError('LIMIT_EXCEEDED', `cannot spill ${id}: spill storage is closed`, { taskKey: id });
    let file = '';
    try {
      const dir = await this.#ensureDir();
      file = join(dir, `${createHash('sha256').update(id).digest('hex').slice(0, 32)}-${++this.#seq}`);
      await writeFile(file, bytes, { flag: 'wx' });
      return file;
    } catch (error) {
      if (file !== '') await unlink(file).catch(() => undefined);
      throw new FloeError(
        'LIMIT_EXCEEDED',
        `could not spill ${id} (${bytes.byteLength} bytes) to ${file || this.#parentDir}: ${(error as Error).message}`,
        { cause: error, taskKey: id },
      );
    }
  }

  async read(id: string, handle: string, nbytes: number): Promise<Uint8Array> {
    let data: Buffer;
    try {
      data = await readFile(handle);
    } catch (error) {
      throw new FloeError('RESULT_UNAVAILABLE', `spilled result ${id} could not be read from ${handle}: ${(error as Error).message}`, {
        cause: error,
        taskKey: id,
      });
    }
    if (data.byteLength !== nbytes) {
      throw new FloeError(
        'RESULT_UNAVAILABLE',
        `spilled result ${id} in ${handle} has ${data.byteLength} bytes, expected ${nbytes}`,
        { taskKey: id },
      );
    }
    // A plain Uint8Array over the file's own buffer: results are Uint8Arrays everywhere else.
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  async remove(handle: string): Promise<void> {
    await unlink(handle).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const dir = await this.directory();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  #ensureDir(): Promise<string> {
    this.#dir ??= mkdir(this.#parentDir, { recursive: true }).then(() => mkdtemp(join(this.#parentDir, this.#prefix)));
    // A failed mkdir is retried on the next spill (the disk may come back).
    return this.#dir.catch((error: unknown) => {
      this.#dir = undefined;
      throw error;
    });
  }
}
