/**
 * @module util/read-file
 * The one way cvmctl reads an input file: it must be a regular file (a FIFO, a device such as
 * /dev/zero, a directory or a socket is refused in one line, before any byte is read, so
 * nothing can make cvmctl read forever) no larger than a limit fitting its kind. Files of the
 * state root (configs, pid files) are opened without following symlinks; files a user names
 * on the command line may be symlinks to regular files, and may be /dev/null (the usual way to
 * say "empty", e.g. an empty kernel for measurement vectors). Large inputs (kernel, initrd) are
 * streamed through a callback instead of held in memory.
 *
 * The reads are synchronous system calls behind an async interface: every input is bounded
 * and local, and a thread-pool round trip per open, fstat, read and close cost more than the
 * read itself (a 2 MiB firmware: 0.55 ms of CPU async, 0.28 ms sync, which is a tenth of a
 * launch measurement). Streaming a large file yields to the event loop between chunks.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CvmError } from '../errors.js';
import { fileKind } from './file-kind.js';

/** Let other work run between chunks of a large file (node:timers/promises' setImmediate without loading it). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

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
 * Open `path` for reading after checking it is a regular file within the limit; returns the fd
 * and the size fstat gave. ENOENT is rethrown as is (callers have their own "does not exist"
 * texts).
 */
function openRegular(path: string, opts: ReadOptions): { fd: number; size: number } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw err;
    if (errnoCode(err) === 'ELOOP' && opts.noFollow) throw refuse(opts, path, 'it is a symbolic link, not a regular file', err);
    throw refuse(opts, path, (err as Error).message, err);
  }
  try {
    const st = fstatSync(fd);
    if (!opts.noFollow && isDevNull(st)) return { fd, size: 0 };
    if (!st.isFile()) throw refuse(opts, path, `it is ${fileKind(st)}, not a regular file`);
    if (st.size > opts.maxBytes) throw refuse(opts, path, `${st.size} bytes is more than the ${opts.maxBytes} bytes allowed`);
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * The rest of a regular file of at most `maxBytes` from offset 0, starting with one read into
 * `first` (sized from fstat, plus one byte to see the end); a file that grows meanwhile is read
 * on up to the limit.
 */
function readAll(fd: number, first: Buffer, path: string, opts: ReadOptions): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let buf = first;
  for (;;) {
    const bytesRead = readSync(fd, buf, 0, buf.length, total);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    if (total > opts.maxBytes) throw refuse(opts, path, `more than the ${opts.maxBytes} bytes allowed`);
    // a regular file's read comes up short only at its end: no second read to learn that
    if (bytesRead < buf.length) break;
    buf = Buffer.allocUnsafe(64 * KiB);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/** Read a whole regular file of at most `maxBytes`. */
export async function readRegularFile(path: string, opts: ReadOptions): Promise<Buffer> {
  const { fd, size } = openRegular(path, opts);
  try {
    return readAll(fd, Buffer.allocUnsafe(Math.min(size, opts.maxBytes) + 1), path, opts);
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw refuse(opts, path, (err as Error).message, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * One read buffer kept between reads (up to 16 MiB). Fresh memory costs a page fault per 4 KiB
 * on first touch, which for a firmware image or kernel was more than copying the bytes; a
 * buffer used before costs nothing. Taken while in use, so concurrent reads never share it.
 */
const KEEP_SPARE = 16 * MiB;
let spare: Buffer | undefined;

function takeBuffer(size: number): Buffer {
  if (spare !== undefined && spare.length >= size) {
    const buf = spare;
    spare = undefined;
    return buf;
  }
  return Buffer.allocUnsafe(size);
}

function giveBack(buf: Buffer): void {
  if (buf.length <= KEEP_SPARE && (spare === undefined || spare.length < buf.length)) spare = buf;
}

/**
 * Read a whole regular file of at most `maxBytes` into a reused buffer and hand its bytes to
 * `use`, which must not keep them (or any view of them) after it returns: the buffer serves the
 * next read. For inputs consumed at once, such as a firmware image that is hashed and dropped.
 */
export function withRegularFile<T>(path: string, opts: ReadOptions, use: (bytes: Buffer) => T): T {
  const { fd, size } = openRegular(path, opts);
  const first = takeBuffer(Math.min(size, opts.maxBytes) + 1);
  let bytes: Buffer;
  try {
    bytes = readAll(fd, first, path, opts);
  } catch (err) {
    giveBack(first);
    if (err instanceof CvmError) throw err;
    throw refuse(opts, path, (err as Error).message, err);
  } finally {
    closeSync(fd);
  }
  try {
    return use(bytes);
  } finally {
    giveBack(first);
  }
}

/** Largest read of streamRegularFile: one read for a typical kernel, bounded memory for a 2 GiB initrd. */
const STREAM_CHUNK = 16 * MiB;

/** Stream a regular file of at most `maxBytes` through `onChunk` (up to 16 MiB at a time). Returns the byte count. */
export async function streamRegularFile(path: string, opts: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number> {
  const { fd, size } = openRegular(path, opts);
  const buf = takeBuffer(Math.min(Math.max(size + 1, 64 * KiB), STREAM_CHUNK));
  try {
    let total = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, 0, buf.length, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
      if (total > opts.maxBytes) throw refuse(opts, path, `more than the ${opts.maxBytes} bytes allowed`);
      onChunk(buf.subarray(0, bytesRead));
      // a regular file's read comes up short only at its end: no extra read to learn that
      if (bytesRead < buf.length) return total;
      await yieldToEventLoop();
    }
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw refuse(opts, path, (err as Error).message, err);
  } finally {
    closeSync(fd);
    giveBack(buf);
  }
}
