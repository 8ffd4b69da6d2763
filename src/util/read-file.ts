/**
 * @module util/read-file
 * The one way cvmctl reads an input file: it must be a regular file (a FIFO, a device such as
 * /dev/zero, a directory or a socket is refused in one line, before any byte is read, so
 * nothing can make cvmctl read forever) no larger than a limit fitting its kind. Files of the
 * state root (configs, pid files) are opened without following symlinks; files a user names
 * on the command line may be symlinks to regular files, and may be /dev/null (the usual way to
 * say "empty", e.g. an empty kernel for measurement vectors). Large inputs (kernel, initrd) are
 * streamed through a callback instead of held in memory.
 */

import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { CvmError } from '../errors.js';
import { fileKind } from './fs.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Size limits per kind of input. */
export const READ_LIMITS = {
  /** An SEV-SNP attestation report is 1184 bytes; its hex text (any spacing or line breaks) fits 8 KiB. */
  report: 8 * KiB,
  /** A certificate or a certificate chain (DER or PEM). */
  certificate: 64 * KiB,
  /** OVMF / SVSM images (the largest OVMF builds are 4-8 MiB). */
  firmware: 64 * MiB,
  /** Kernel and initrd, hashed while streaming. */
  kernel: 2 * GiB,
  /** pmxcfs refuses files above 1 MiB (MEMDB_MAX_FILE_SIZE), which bounds every qemu-server config. */
  config: 1 * MiB,
  /** JSON/INI-like small state files (host profiles, capabilities, storage.cfg). */
  small: 1 * MiB,
  /** A pid file. */
  pidfile: 64,
} as const;

export interface ReadOptions {
  /** What the file is, for messages ("attestation report", "config file"). */
  what: string;
  maxBytes: number;
  /** Refuse a symlink itself (state-root files). Default false: a symlink to a regular file is read. */
  noFollow?: boolean;
  /** Error code for a refused file (default IO). */
  code?: 'IO' | 'PARAM_INVALID';
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function refuse(opts: ReadOptions, path: string, reason: string, cause?: unknown): CvmError {
  return new CvmError(opts.code ?? 'IO', `unable to read ${opts.what} '${path}' - ${reason}`, cause === undefined ? {} : { cause });
}

/** /dev/null (character device 1:3) reads as empty and ends at once. */
function isDevNull(st: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return st.isCharacterDevice() && st.rdev === ((1 << 8) | 3);
}

/**
 * Open `path` for reading after checking it is a regular file within the limit. ENOENT is
 * rethrown as is (callers have their own "does not exist" texts).
 */
async function openRegular(path: string, opts: ReadOptions): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw err;
    if (errnoCode(err) === 'ELOOP' && opts.noFollow) throw refuse(opts, path, 'it is a symbolic link, not a regular file', err);
    throw refuse(opts, path, (err as Error).message, err);
  }
  try {
    const st = await fh.stat();
    if (!opts.noFollow && isDevNull(st)) return { fh, size: 0 };
    if (!st.isFile()) throw refuse(opts, path, `it is ${fileKind(st)}, not a regular file`);
    if (st.size > opts.maxBytes) throw refuse(opts, path, `${st.size} bytes is more than the ${opts.maxBytes} bytes allowed`);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Read a whole regular file of at most `maxBytes`. */
export async function readRegularFile(path: string, opts: ReadOptions): Promise<Buffer> {
  const { fh, size } = await openRegular(path, opts);
  try {
    // one read of the size fstat gave; a file that grows meanwhile is read on up to the limit
    const chunks: Buffer[] = [];
    let total = 0;
    let want = Math.min(size, opts.maxBytes) + 1;
    for (;;) {
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, total);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > opts.maxBytes) throw refuse(opts, path, `more than the ${opts.maxBytes} bytes allowed`);
      want = 64 * KiB;
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw refuse(opts, path, (err as Error).message, err);
  } finally {
    await fh.close();
  }
}

/** Stream a regular file of at most `maxBytes` through `onChunk` (1 MiB at a time). Returns the byte count. */
export async function streamRegularFile(path: string, opts: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number> {
  const { fh } = await openRegular(path, opts);
  try {
    const buf = Buffer.allocUnsafe(MiB);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
      if (total > opts.maxBytes) throw refuse(opts, path, `more than the ${opts.maxBytes} bytes allowed`);
      onChunk(buf.subarray(0, bytesRead));
    }
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw refuse(opts, path, (err as Error).message, err);
  } finally {
    await fh.close();
  }
}
