/**
 * @module util/mkdirs
 * `mkdir -p` that always terminates. Node 20's `mkdir(path, { recursive: true })` loops forever
 * below pseudo file systems such as /proc (`--root /proc/x` hung the CLI), so the missing
 * components are found with `stat` first and created one by one, and any failure becomes a
 * one-line CvmError naming the directory.
 */

import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CvmError } from '../errors.js';

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Create `path` and its missing parents (`mode` applies to the directories created here). */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  let dir = resolve(path);
  for (;;) {
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) throw new CvmError('IO', `unable to create directory '${path}' - '${dir}' is not a directory`);
      break;
    } catch (err) {
      if (err instanceof CvmError) throw err;
      // ENOTDIR: a file further up is in the way; walking up finds and names it
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') {
        throw new CvmError('IO', `unable to create directory '${path}' - ${(err as Error).message}`, { cause: err });
      }
      missing.push(dir);
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d, mode === undefined ? undefined : { mode });
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') continue; // created concurrently by another process
      throw new CvmError('IO', `unable to create directory '${path}' - ${(err as Error).message}`, { cause: err });
    }
  }
}
