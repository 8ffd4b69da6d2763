/**
 * @module util/fs
 * The two file-system guarantees the state store is built on: an exclusive per-resource lock
 * (util/lock: never taken from a live holder, reclaimed at once from a dead one) and atomic
 * replacement of a file: a temporary file created next to it without following symlinks,
 * written, fsynced and renamed over it, so a reader sees either the old or the new content,
 * never a mix. A target that is not a regular file (a symlink, a device, a FIFO, a directory)
 * is refused, never written through or replaced.
 */

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CvmError } from '../errors.js';
import { fileKind } from './file-kind.js';
import { makeDirs } from './mkdirs.js';

export { fileKind } from './file-kind.js';
export { withFileLock, type LockOptions } from './lock.js';

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Throw unless `path` is absent or a regular file (checked without following a symlink). */
export async function assertRegularOrAbsent(path: string, what = 'write'): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw new CvmError('IO', `unable to ${what} '${path}' - ${(err as Error).message}`, { cause: err });
  }
  if (!st.isFile()) throw new CvmError('IO', `unable to ${what} '${path}' - it is ${fileKind(st)}, not a regular file`);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replace `path` atomically with `data` (temp file in the same directory, fsync, rename). */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o640): Promise<void> {
  await makeDirs(dirname(path));
  await assertRegularOrAbsent(path);
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    try {
      await fh.chmod(mode); // exact mode, whatever the umask
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // rename replaces the directory entry itself: a symlink put there meanwhile is replaced, never followed
    await rename(temp, path);
    await fsyncDir(dirname(path));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new CvmError('IO', `unable to write '${path}' - ${(err as Error).message}`, { cause: err });
  }
}
