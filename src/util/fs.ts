/**
 * @module util/fs
 * The two file-system guarantees the state store is built on: an exclusive per-resource lock
 * that works across processes (proper-lockfile: an atomic `mkdir` lock directory, refreshed
 * while held, taken over when stale after a crash) and atomic replacement of a file
 * (write-file-atomic: temporary file, fsync, rename), so a reader sees either the old or the
 * new content, never a mix. Both libraries are loaded on first use only, keeping read-only
 * commands fast to start.
 */

import { dirname } from 'node:path';
import { CvmError } from '../errors.js';
import { makeDirs } from './mkdirs.js';

export interface LockOptions {
  /** Give up after this many milliseconds of waiting (qemu-server waits 10 s for a config lock). */
  timeoutMs?: number;
  /** Text for the timeout error; default `can't lock file '<path>' - got timeout`. */
  timeoutMessage?: string;
}

/** A lock is considered abandoned when its directory was not refreshed for this long. */
const STALE_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Run `fn` while holding the exclusive lock `lockPath` (a directory that is created and
 * removed). Waits with jittered back-off until `timeoutMs`, then throws CvmError VM_LOCKED.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const { lock } = await import('proper-lockfile');
  await makeDirs(dirname(lockPath));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let compromised: Error | undefined;
  let release: (() => Promise<void>) | undefined;
  let delay = 5;
  for (;;) {
    try {
      release = await lock(lockPath, {
        realpath: false,
        lockfilePath: lockPath,
        stale: STALE_MS,
        retries: 0,
        onCompromised: (err) => {
          compromised = err;
        },
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new CvmError('IO', `can't lock file '${lockPath}' - ${(err as Error).message}`, { cause: err });
      }
      if (Date.now() >= deadline) {
        throw new CvmError('VM_LOCKED', opts.timeoutMessage ?? `can't lock file '${lockPath}' - got timeout`);
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 100);
    }
  }
  try {
    const result = await fn();
    if (compromised) {
      throw new CvmError('IO', `lock '${lockPath}' was lost while held - ${compromised.message}`, { cause: compromised });
    }
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}

/** Replace `path` atomically with `data` (temp file in the same directory, fsync, rename). */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o640): Promise<void> {
  const { default: write } = await import('write-file-atomic');
  await makeDirs(dirname(path));
  try {
    await write(path, data, { fsync: true, mode });
  } catch (err) {
    throw new CvmError('IO', `unable to write '${path}' - ${(err as Error).message}`, { cause: err });
  }
}
