/**
 * A volume file on the wire as its extents: the allocation map comes from a real `qemu-img map`
 * of real sparse files (holes where nothing was written, data where it was, exactly the file's
 * length); encoding and decoding round-trip any extent list however the stream is split, with
 * the same SHA-256 of the full content on both ends (property test); random bytes fed to the
 * decoder give pieces or a one-line CvmError, nothing else (fuzz); malformed streams are refused.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import {
  decodeExtents,
  type Extent,
  type ExtentPiece,
  encodeExtents,
  extentsIn,
  fileExtents,
  hashZeros,
  RECORD_HEADER_BYTES,
  wireBytes,
} from './migrate-extents.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-extents-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

/** The logical content the decoded pieces stand for. */
function contentOf(pieces: ExtentPiece[]): Buffer {
  return Buffer.concat(pieces.map((p) => ('hole' in p ? Buffer.alloc(p.hole) : p.data)));
}

async function* splitAt(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)) {
    yield buf.subarray(at, c);
    at = c;
  }
  yield buf.subarray(at);
}

describe('fileExtents (qemu-img map of the file as raw)', () => {
  it('maps a thin file: holes where nothing was written, data where it was, exactly the file length', async () => {
    const path = join(dir, 'thin.raw');
    writeFileSync(path, '');
    truncateSync(path, 64 << 20);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(1 << 20, 0x5a), 0, 1 << 20, 16 << 20);
    closeSync(fd);
    expect(await fileExtents(path, 64 << 20)).toEqual([
      { start: 0, length: 16 << 20, data: false },
      { start: 16 << 20, length: 1 << 20, data: true },
      { start: 17 << 20, length: 47 << 20, data: false },
    ]);
  });

  it('a fully written file of an odd length is one data extent; an empty file has none', async () => {
    writeFileSync(join(dir, 'odd.raw'), Buffer.alloc(5000, 1));
    expect(await fileExtents(join(dir, 'odd.raw'), 5000)).toEqual([{ start: 0, length: 5000, data: true }]);
    writeFileSync(join(dir, 'empty.raw'), '');
    expect(await fileExtents(join(dir, 'empty.raw'), 0)).toEqual([]);
  });

  it('a file qemu-img cannot map is one clear error', async () => {
    const err = await fileExtents(join(dir, 'missing.raw'), 4096).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).toMatch(/^unable to map '.*missing\.raw' - .*No such file or directory/);
  });
});

describe('extentsIn', () => {
  it('cuts any range out of a map so that it covers the range exactly, in order, kinds kept', () => {
    const arbMap = fc.array(fc.record({ length: fc.integer({ min: 1, max: 5000 }), data: fc.boolean() }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(arbMap, fc.nat(), fc.nat(), (parts, a, b) => {
        let start = 0;
        const map: Extent[] = parts.map((p) => {
          const e = { start, ...p };
          start += p.length;
          return e;
        });
        const offset = a % start;
        const length = b % (start - offset + 1);
        const cut = extentsIn(map, offset, length);
        let at = offset;
        for (const e of cut) {
          expect(e.start).toBe(at);
          expect(e.length).toBeGreaterThan(0);
          const from = map.find((m) => m.start <= e.start && e.start < m.start + m.length);
          expect(e.data).toBe(from?.data);
          at += e.length;
        }
        expect(at).toBe(offset + length);
      }),
    );
  });
});

describe('encodeExtents / decodeExtents', () => {
  it('round-trip any extents however the stream is split: same content, same hash on both ends, wireBytes exact', async () => {
    const arbParts = fc.array(fc.record({ length: fc.integer({ min: 0, max: 3000 }), data: fc.boolean() }), { maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(arbParts, fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 0, max: 255 }), async (parts, cuts, seed) => {
        // the file: random-ish bytes in data extents, zeros in holes (what a hole reads as)
        let start = 0;
        const extents: Extent[] = parts.map((p) => {
          const e = { start, ...p };
          start += p.length;
          return e;
        });
        const file = Buffer.alloc(start);
        for (const e of extents) if (e.data) for (let i = e.start; i < e.start + e.length; i++) file[i] = (i * 31 + seed) & 0xff;
        const path = join(dir, 'prop.bin');
        writeFileSync(path, file);
        const sourceHash = createHash('sha256');
        const wire = Buffer.concat(
          await collect(
            encodeExtents(path, extents, (piece) => (typeof piece === 'number' ? hashZeros(sourceHash, piece) : sourceHash.update(piece))),
          ),
        );
        expect(wire.length).toBe(wireBytes(extents));
        expect(wire.length).toBe(extents.length * RECORD_HEADER_BYTES + extents.reduce((n, e) => n + (e.data ? e.length : 0), 0));
        const pieces = await collect(decodeExtents(splitAt(wire, cuts), 'prop'));
        const content = contentOf(pieces);
        expect(content.equals(file)).toBe(true);
        const full = createHash('sha256').update(file).digest('hex');
        expect(sourceHash.digest('hex')).toBe(full);
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes decode to pieces or one CvmError, never anything else (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), async (bytes, cuts) => {
        try {
          await collect(decodeExtents(splitAt(Buffer.from(bytes), cuts), 'fuzz'));
        } catch (err) {
          expect(err).toBeInstanceOf(CvmError);
          expect((err as CvmError).message).toMatch(/^'fuzz': malformed transfer data - /);
          expect((err as CvmError).message).not.toContain('\n');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an unknown kind, a length beyond 2^53 and a stream ending inside a record', async () => {
    const head = (kind: number, length: bigint) => {
      const h = Buffer.alloc(RECORD_HEADER_BYTES);
      h[0] = kind;
      h.writeBigUInt64BE(length, 1);
      return h;
    };
    const run = (buf: Buffer) => collect(decodeExtents(splitAt(buf, []), 'vol'));
    await expect(run(head(0x51, 1n))).rejects.toThrow("'vol': malformed transfer data - unknown record kind 0x51");
    await expect(run(head(0x5a, 1n << 60n))).rejects.toThrow(/record length 1152921504606846976 is too large/);
    await expect(run(Buffer.concat([head(0x44, 10n), Buffer.alloc(9)]))).rejects.toThrow(/the data ends inside a record/);
    await expect(run(head(0x44, 10n).subarray(0, 5))).rejects.toThrow(/the data ends inside a record/);
    expect(await run(Buffer.concat([head(0x5a, 7n), head(0x44, 2n), Buffer.from('ab')]))).toEqual([
      { hole: 7 },
      { data: Buffer.from('ab') },
    ]);
  });
});
