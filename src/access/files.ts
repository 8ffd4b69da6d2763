/**
 * @module access/files
 * The access domain's files below the state root, mirroring PVE's /etc/pve layout:
 * `access/user.cfg` (users, tokens, groups, roles, ACLs) and `priv/` with `shadow.cfg`
 * (password hashes), `token.cfg` (token secret digests), `authkey.key` (ticket signing key) and
 * `pve-www.key` (CSRF secret). Directories are 0700 and files 0600; files are replaced
 * atomically (util/fs writeFileAtomic) and read as bounded regular files without following a
 * symlink (util/read-file); a symlink in place of any of them is refused, so nobody can
 * redirect a secret elsewhere. Keys are created once, race-free (written to a temporary file,
 * then hard-linked into place). All writers share one cross-process lock, `lock/access`, so a
 * CLI command and the API server never lose updates.
 */

import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { chmod, link, lstat, mkdir, open, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CvmError } from '../errors.js';
import { stateLayout } from '../store/root.js';
import { withFileLock, writeFileAtomic } from '../util/fs.js';
import { makeDirs } from '../util/mkdirs.js';
import { READ_LIMITS, readRegularFile } from '../util/read-file.js';

export interface AccessPaths {
  accessDir: string;
  userCfg: string;
  privDir: string;
  shadowCfg: string;
  tokenCfg: string;
  authKey: string;
  csrfKey: string;
  lock: string;
}

export function accessPaths(root: string): AccessPaths {
  const accessDir = join(root, 'access');
  const privDir = join(root, 'priv');
  return {
    accessDir,
    userCfg: join(accessDir, 'user.cfg'),
    privDir,
    shadowCfg: join(privDir, 'shadow.cfg'),
    tokenCfg: join(privDir, 'token.cfg'),
    authKey: join(privDir, 'authkey.key'),
    csrfKey: join(privDir, 'pve-www.key'),
    lock: join(stateLayout(root).lockDir, 'access'),
  };
}

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function ioError(path: string, what: string, err?: unknown): CvmError {
  const reason = err instanceof Error ? err.message : what;
  return new CvmError('IO', `unable to access '${path}' - ${reason}`, err === undefined ? {} : { cause: err });
}

/** Creates the directory 0700 if missing; refuses a symlink or non-directory; tightens a looser mode. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      // a missing state root gets the usual mode; only our own directory is private
      await makeDirs(dirname(dir));
      await mkdir(dir, { mode: DIR_MODE }).catch((e: unknown) => {
        if (errnoCode(e) !== 'EEXIST') throw ioError(dir, '', e);
      });
    } else if (errnoCode(err) !== 'EEXIST') {
      throw ioError(dir, '', err);
    }
  }
  const st = await lstat(dir);
  if (st.isSymbolicLink()) throw ioError(dir, 'refusing to use a symbolic link');
  if (!st.isDirectory()) throw ioError(dir, 'not a directory');
  if ((st.mode & 0o777) !== DIR_MODE) await chmod(dir, DIR_MODE);
}

/** Refuses a symbolic link where a directory of ours should be (before reading below it). */
async function refuseLinkedDir(dir: string): Promise<boolean> {
  try {
    const st = await lstat(dir);
    if (st.isSymbolicLink()) throw ioError(dir, 'refusing to use a symbolic link');
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err instanceof CvmError ? err : ioError(dir, '', err);
  }
}

/** The file's text, undefined when it does not exist; a symlink or non-regular file is refused. */
export async function readPrivateFile(path: string, dir: string): Promise<string | undefined> {
  const buf = await readPrivateBytes(path, dir);
  return buf?.toString('utf8');
}

async function readPrivateBytes(path: string, dir: string): Promise<Buffer | undefined> {
  if (!(await refuseLinkedDir(dir))) return undefined;
  try {
    return await readRegularFile(path, { what: 'access file', maxBytes: READ_LIMITS.small, noFollow: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Atomically replaces the file (0600) inside its private directory; a symlink in its place is refused (util/fs). */
export async function writePrivateFile(path: string, dir: string, text: string): Promise<void> {
  await ensurePrivateDir(dir);
  await writeFileAtomic(path, text, FILE_MODE);
}

/** The 32-byte key in `path`, created (random, 0600) on first use; concurrent creators agree on one key. */
export async function loadOrCreateKey(path: string, dir: string): Promise<Buffer> {
  const existing = await readPrivateBytes(path, dir);
  if (existing && existing.length >= 32) return existing;
  if (existing) throw ioError(path, 'key file is too short');
  await ensurePrivateDir(dir);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, randomBytes(32), { mode: FILE_MODE, flag: 'wx' });
    const handle = await open(tmp, 'r');
    await handle.sync();
    await handle.close();
    await link(tmp, path).catch((err: unknown) => {
      if (errnoCode(err) !== 'EEXIST') throw ioError(path, '', err);
    });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const created = await readPrivateBytes(path, dir);
  if (!created || created.length < 32) throw ioError(path, 'key file is missing or too short');
  return created;
}

/** Runs `fn` holding the access domain's cross-process write lock. */
export function withAccessLock<T>(paths: AccessPaths, fn: () => Promise<T>): Promise<T> {
  return withFileLock(paths.lock, fn, { timeoutMs: 10_000, timeoutMessage: `can't lock file '${paths.lock}' - got timeout` });
}

/**
 * Identity of a file's current version (rename-replaced files get a new inode); undefined if
 * absent. Synchronous on purpose: every API request asks, and a local `lstat` costs a few
 * microseconds while a thread-pool round trip costs ten times that. Times as float
 * milliseconds: a quarter of a microsecond apart at today's dates, closer than two writes
 * can follow each other; BigInt stats cost 1.5 µs more per call.
 */
export function fileVersion(path: string): string | undefined {
  try {
    // an absent file is common (no tokens yet): not an exception, which would cost more than the lstat
    const st = lstatSync(path, { throwIfNoEntry: false });
    return st && `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (err) {
    throw ioError(path, '', err);
  }
}
