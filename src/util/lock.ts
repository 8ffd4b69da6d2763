/**
 * @module util/lock
 * The exclusive per-resource lock every state change runs under. It excludes other async
 * operations of this process (a per-path queue, re-entrant along one async call chain) and
 * other processes (a lock file). The lock file is never taken from a live holder and is
 * reclaimed at once from a dead one; there is no time-based staleness, so a holder that is
 * slow (a huge config, a VM that takes 30 s to start) keeps its lock.
 *
 * Protocol for `<path>` (all names in one directory, no symlink ever followed):
 * - a contender creates its own entry `<path>~<pid>-<starttime>-<token>` (O_EXCL|O_NOFOLLOW,
 *   content `pid starttime`) and tries `link(entry, <path>)`; link is atomic and fails with
 *   EEXIST while another holds the lock. While held, the lock inode thus has two names: `<path>`
 *   and its owner entry, whose name says who may remove `<path>`.
 * - on contention the owner entry is found by inode; its (pid, start time) is checked in /proc.
 *   A dead owner's entry is renamed to one of our own names: rename of that one name succeeds
 *   for exactly one contender, and only that one removes `<path>`, so two waiters that both saw
 *   the dead holder can never remove a lock a third process took meanwhile. If the reclaimer
 *   dies mid-way, the entry names it, and it is dead: the next contender repeats the step.
 * - release removes `<path>` first and then its entry.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CvmError } from '../errors.js';
import { makeDirs } from './mkdirs.js';
import { identityAlive, type ProcessIdentity, selfIdentity } from './proc.js';

export interface LockOptions {
  /** Give up after this many milliseconds of waiting (qemu-server waits 10 s for a config lock). */
  timeoutMs?: number;
  /** Text for the timeout error; default `can't lock file '<path>' - got timeout`. */
  timeoutMessage?: string;
}

/** A lock directory of the former proper-lockfile locks counts as abandoned after this long unrefreshed. */
const LEGACY_DIR_STALE_MS = 30_000;

const heldLocks = new AsyncLocalStorage<ReadonlySet<string>>();
const queueTails = new Map<string, Promise<void>>();

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function ioError(path: string, err: unknown): CvmError {
  return new CvmError('IO', `can't lock file '${path}' - ${(err as Error).message}`, { cause: err });
}

function timeoutError(path: string, opts: LockOptions): CvmError {
  return new CvmError('VM_LOCKED', opts.timeoutMessage ?? `can't lock file '${path}' - got timeout`);
}

function entryName(path: string, id: ProcessIdentity): string {
  return `${path}~${id.pid}-${id.starttime}-${randomBytes(6).toString('hex')}`;
}

/** The owner identity an entry name carries, or undefined for names that are not entries. */
export function parseEntryName(lockBase: string, name: string): ProcessIdentity | undefined {
  if (!name.startsWith(`${lockBase}~`)) return undefined;
  const m = /^(\d+)-(\d+)-[0-9a-f]+$/.exec(name.slice(lockBase.length + 1));
  return m ? { pid: Number(m[1]), starttime: Number(m[2]) } : undefined;
}

async function createEntry(path: string): Promise<string> {
  const id = selfIdentity();
  const entry = entryName(path, id);
  const fh = await open(entry, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(`${id.pid} ${id.starttime}\n`);
  } finally {
    await fh.close();
  }
  return entry;
}

type Verdict = 'held' | 'free';

/**
 * Look at a lock someone else holds: 'free' when it is gone or was just reclaimed from a dead
 * holder (try again at once), 'held' while its holder lives (wait).
 */
async function inspect(path: string): Promise<Verdict> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'free';
    throw ioError(path, err);
  }
  if (st.isDirectory()) return reclaimLegacyDir(path, st.mtimeMs);
  if (!st.isFile())
    throw new CvmError('IO', `can't lock file '${path}' - not a regular file (refusing to follow a symlink or use a device)`);
  const dir = dirname(path);
  const base = basename(path);
  let owner: { name: string; id: ProcessIdentity } | undefined;
  for (const name of await readdir(dir)) {
    const id = parseEntryName(base, name);
    if (!id) continue;
    const est = await lstat(join(dir, name)).catch(() => undefined);
    if (!est?.isFile()) continue;
    if (est.ino === st.ino && est.dev === st.dev) owner = { name, id };
    // an entry of a dead contender that never became the lock is litter; its process cannot link it any more
    else if (est.nlink === 1 && !identityAlive(id)) await unlink(join(dir, name)).catch(() => undefined);
  }
  if (!owner) {
    // between a reclaimer's rename and readdir the entry can be missed; a lock without any entry was not made by cvmctl
    if (st.nlink >= 2) return 'held';
    throw new CvmError(
      'IO',
      `can't lock file '${path}' - it has no owner entry (not a cvmctl lock); remove it if no cvmctl process uses it`,
    );
  }
  if (identityAlive(owner.id)) return 'held';
  const mine = entryName(path, selfIdentity());
  try {
    await rename(join(dir, owner.name), mine);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'held'; // another contender reclaims it; look again
    throw ioError(path, err);
  }
  // we alone own the dead lock now: nobody else can remove `path`, which still is that inode
  await unlink(path).catch((err) => {
    if (errnoCode(err) !== 'ENOENT') throw ioError(path, err);
  });
  await unlink(mine).catch(() => undefined);
  return 'free';
}

/** A directory lock of the former proper-lockfile implementation: free once it has not been refreshed for a while. */
async function reclaimLegacyDir(path: string, mtimeMs: number): Promise<Verdict> {
  if (Date.now() - mtimeMs < LEGACY_DIR_STALE_MS) return 'held';
  await rmdir(path).catch(() => undefined);
  return 'free';
}

/** Take the cross-process lock file; resolves with its release. */
async function acquireFile(path: string, deadline: number, opts: LockOptions): Promise<() => Promise<void>> {
  await makeDirs(dirname(path));
  let entry: string;
  try {
    entry = await createEntry(path);
  } catch (err) {
    throw ioError(path, err);
  }
  let delay = 2;
  try {
    for (;;) {
      try {
        await link(entry, path);
        break;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw ioError(path, err);
      }
      if ((await inspect(path)) === 'free') continue;
      if (Date.now() >= deadline) throw timeoutError(path, opts);
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 50);
    }
  } catch (err) {
    await unlink(entry).catch(() => undefined);
    throw err;
  }
  const owned = await lstat(entry);
  return async () => {
    const now = await lstat(path).catch(() => undefined);
    // only ever remove our own lock (it cannot have been reclaimed while we live, but be exact)
    if (now && now.ino === owned.ino && now.dev === owned.dev) await unlink(path).catch(() => undefined);
    await unlink(entry).catch(() => undefined);
  };
}

/** Wait for `p` until `deadline`; false on timeout. */
async function waitUntil(p: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run `fn` while holding the exclusive lock `lockPath`. Waits until `timeoutMs` (default 10 s),
 * then throws CvmError VM_LOCKED. Re-entrant: code running inside `fn` that locks the same path
 * again runs without waiting for itself.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const key = resolve(lockPath);
  const held = heldLocks.getStore();
  if (held?.has(key)) return fn();
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);

  // this process: queue behind the operations already waiting for or holding the same lock
  const before = queueTails.get(key) ?? Promise.resolve();
  let done!: () => void;
  const turnDone = new Promise<void>((r) => {
    done = r;
  });
  const tail = before.then(() => turnDone);
  queueTails.set(key, tail);
  const leave = () => {
    done();
    if (queueTails.get(key) === tail) queueTails.delete(key);
  };
  if (!(await waitUntil(before, deadline))) {
    void before.then(leave);
    throw timeoutError(lockPath, opts);
  }
  try {
    // other processes
    const release = await acquireFile(key, deadline, opts);
    try {
      return await heldLocks.run(new Set([...(held ?? []), key]), fn);
    } finally {
      await release();
    }
  } finally {
    leave();
  }
}
