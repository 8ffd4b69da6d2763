/**
 * @module cluster/migrate-extents
 * A volume file on the wire as its extents, so that a sparse volume (a thin raw disk, a qcow2
 * with preallocated metadata) costs its data, not its length. The source asks the file system
 * which byte ranges of the file hold data (`qemu-img map --output=json -f raw`: the file read as
 * raw, so the map is the file's own SEEK_DATA/SEEK_HOLE allocation, never a probed image format's)
 * and sends, per chunk, a sequence of records: a 9-byte header (kind `D` or `Z`, then the length
 * as a big-endian 64-bit integer), and for `D` that many bytes of the file; a `Z` record stands
 * for that many zero bytes. Both ends hash the chunk's full logical content (holes as zeros), so
 * the SHA-256 they compare covers what the file reads as, not what was sent. The decoder takes
 * the records back from an arbitrarily split byte stream and refuses anything malformed.
 */

import { spawn } from 'node:child_process';
import type { Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CvmError } from '../errors.js';

/** A byte range of a volume file: data to send, or a hole that reads as zeros. */
export interface Extent {
  start: number;
  length: number;
  data: boolean;
}

export const RECORD_HEADER_BYTES = 9;
const KIND_DATA = 0x44; // 'D'
const KIND_ZERO = 0x5a; // 'Z'
const ZEROS = Buffer.alloc(1 << 20);
/** Bytes of file data read (and sent) per piece of a data record. */
const READ_BYTES = 1 << 20;

const qemuImgBin = () => process.env.CVMCTL_QEMU_IMG || 'qemu-img';

/** Feed `length` zero bytes to `hash` (a hole's share of the logical content). */
export function hashZeros(hash: Hash, length: number): void {
  for (let left = length; left > 0; left -= ZEROS.length) hash.update(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
}

/** Append an extent, merging it into the previous one of the same kind. */
function pushExtent(out: Extent[], e: Extent): void {
  if (e.length <= 0) return;
  const last = out.at(-1);
  if (last && last.data === e.data && last.start + last.length === e.start) last.length += e.length;
  else out.push({ ...e });
}

/**
 * The allocation map of the file at `path` (`size` bytes), covering exactly [0, size): ranges the
 * file system reports as holes (`"data": false, "zero": true`) are holes, everything else is
 * data (what the map does not cover, too: sending it is always correct). qemu-img prints one
 * extent per line, read as they come (a fragmented file has many).
 */
export async function fileExtents(path: string, size: number): Promise<Extent[]> {
  const child = spawn(qemuImgBin(), ['map', '--output=json', '-f', 'raw', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new CvmError('STORAGE', `unable to run qemu-img - ${err.message}`, { cause: err })));
    child.once('close', (code) => resolve(code));
  });
  const out: Extent[] = [];
  let covered = 0;
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
      const text = line
        .trim()
        .replace(/^\[/, '')
        .replace(/[,\]]$/, '');
      if (!text) continue;
      let e: { start?: unknown; length?: unknown; data?: unknown; zero?: unknown };
      try {
        e = JSON.parse(text);
      } catch {
        throw new CvmError('STORAGE', `qemu-img map of '${path}': unexpected output '${text.slice(0, 200)}'`);
      }
      if (e.start !== covered || typeof e.length !== 'number' || e.length < 0)
        throw new CvmError('STORAGE', `qemu-img map of '${path}': extent at ${String(e.start)} does not follow ${covered}`);
      const length = Math.max(0, Math.min(e.length, size - covered));
      pushExtent(out, { start: covered, length, data: !(e.data === false && e.zero === true) });
      covered += e.length;
    }
  } catch (err) {
    child.kill();
    await exited.catch(() => undefined);
    throw err;
  }
  covered = Math.min(covered, size);
  const code = await exited;
  if (code !== 0) throw new CvmError('STORAGE', `unable to map '${path}' - ${stderr.trim() || `qemu-img exited with code ${code}`}`);
  pushExtent(out, { start: covered, length: size - covered, data: true });
  return out;
}

/** The extents of [offset, offset + length), cut from a map that covers it. */
export function extentsIn(map: Extent[], offset: number, length: number): Extent[] {
  const end = offset + length;
  const out: Extent[] = [];
  for (const e of map) {
    const from = Math.max(e.start, offset);
    const to = Math.min(e.start + e.length, end);
    if (from < to) out.push({ start: from, length: to - from, data: e.data });
  }
  return out;
}

/** Bytes on the wire for these extents (headers and data). */
export function wireBytes(extents: Extent[]): number {
  return extents.reduce((n, e) => n + RECORD_HEADER_BYTES + (e.data ? e.length : 0), 0);
}

function header(kind: number, length: number): Buffer {
  const h = Buffer.alloc(RECORD_HEADER_BYTES);
  h[0] = kind;
  h.writeBigUInt64BE(BigInt(length), 1);
  return h;
}

/**
 * The records of `extents` of the file at `path`, with the file data read as it is sent; each
 * piece of logical content (file bytes, or a hole's length) is reported to `onContent` in order.
 */
export async function* encodeExtents(
  path: string,
  extents: Extent[],
  onContent: (piece: Buffer | number) => void,
): AsyncGenerator<Buffer, void, undefined> {
  const fh = await open(path, 'r');
  try {
    for (const e of extents) {
      if (!e.data) {
        yield header(KIND_ZERO, e.length);
        onContent(e.length);
        continue;
      }
      yield header(KIND_DATA, e.length);
      for (let done = 0; done < e.length; ) {
        const want = Math.min(READ_BYTES, e.length - done);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, e.start + done);
        if (bytesRead === 0) throw new CvmError('STORAGE', `'${path}' ended at ${e.start + done} bytes while being sent`);
        const piece = buf.subarray(0, bytesRead);
        onContent(piece);
        yield piece;
        done += bytesRead;
      }
    }
  } finally {
    await fh.close();
  }
}

/** A decoded piece of a chunk: file data to write, or a hole of `length` zero bytes. */
export type ExtentPiece = { data: Buffer } | { hole: number };

/**
 * The records of a chunk's byte stream, however it is split: data records come out as the bytes
 * arrive (never buffered whole), holes as their length. An unknown kind, a length beyond 2^53 or
 * a stream ending inside a record is refused.
 */
export async function* decodeExtents(body: AsyncIterable<Buffer | string>, what: string): AsyncGenerator<ExtentPiece, void, undefined> {
  let head = Buffer.alloc(0);
  let dataLeft = 0;
  const bad = (why: string) => new CvmError('STORAGE', `'${what}': malformed transfer data - ${why}`);
  for await (const raw of body) {
    let buf = typeof raw === 'string' ? Buffer.from(raw) : raw;
    while (buf.length > 0) {
      if (dataLeft > 0) {
        const take = Math.min(dataLeft, buf.length);
        yield { data: buf.subarray(0, take) };
        dataLeft -= take;
        buf = buf.subarray(take);
        continue;
      }
      const need = RECORD_HEADER_BYTES - head.length;
      head = Buffer.concat([head, buf.subarray(0, need)]);
      buf = buf.subarray(need);
      if (head.length < RECORD_HEADER_BYTES) break;
      const kind = head[0];
      const length = head.readBigUInt64BE(1);
      head = Buffer.alloc(0);
      if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`record length ${length} is too large`);
      if (kind === KIND_ZERO) yield { hole: Number(length) };
      else if (kind === KIND_DATA) dataLeft = Number(length);
      else throw bad(`unknown record kind 0x${(kind ?? 0).toString(16).padStart(2, '0')}`);
    }
  }
  if (head.length > 0 || dataLeft > 0) throw bad('the data ends inside a record');
}
