/**
 * @module measure/sev-hashes
 * The SEV kernel-hashes table QEMU writes into guest memory for measured direct boot
 * (`kernel-hashes=on`): a 168-byte header+3 entries table (cmdline, initrd, kernel, each
 * SHA-256) padded to 176 bytes, and the 4 KiB page that carries it for SNP. Pure: callers
 * hand in the three SHA-256 digests (the file layer hashes big files in one streaming pass).
 */

import { createHash } from 'node:crypto';
import { guidToBytesLe } from './guid.js';

export const SEV_HASH_GUIDS = {
  table: '9438d606-4f22-4cc9-b479-a793d411fd21',
  kernel: '4de79437-abd2-427f-b835-d5b172d2045b',
  initrd: '44baf731-3a2f-4bd7-9af1-41e29169781d',
  cmdline: '97d02dd8-bd20-4c94-aa78-e7714d36ab2a',
} as const;

const ENTRY_SIZE = 16 + 2 + 32; // 50
export const SEV_HASH_TABLE_SIZE = 16 + 2 + 3 * ENTRY_SIZE; // 168
export const SEV_HASH_TABLE_PADDED_SIZE = (SEV_HASH_TABLE_SIZE + 15) & ~15; // 176

export interface SevHashes {
  kernel: Buffer;
  initrd: Buffer;
  cmdline: Buffer;
}

/** SHA-256 of the command line as QEMU hashes it: the string plus its NUL ("" ⇒ just NUL). */
export function cmdlineHash(append: string | undefined | null): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(append ?? '', 'utf8'), Buffer.alloc(1)]))
    .digest();
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Digests for in-memory inputs (tests, small files); a missing initrd hashes as empty. */
export function sevHashesFromBytes(kernel: Uint8Array, initrd: Uint8Array | null, append: string | null): SevHashes {
  return { kernel: sha256(kernel), initrd: sha256(initrd ?? new Uint8Array(0)), cmdline: cmdlineHash(append) };
}

/** The 176-byte padded table, byte-identical to QEMU's `build_kernel_loader_hashes`. */
export function buildSevHashTable(hashes: SevHashes): Buffer {
  const out = Buffer.alloc(SEV_HASH_TABLE_PADDED_SIZE);
  guidToBytesLe(SEV_HASH_GUIDS.table).copy(out, 0);
  out.writeUInt16LE(SEV_HASH_TABLE_SIZE, 16);
  const entries: Array<[string, Buffer]> = [
    [SEV_HASH_GUIDS.cmdline, hashes.cmdline],
    [SEV_HASH_GUIDS.initrd, hashes.initrd],
    [SEV_HASH_GUIDS.kernel, hashes.kernel],
  ];
  let at = 18;
  for (const [guid, digest] of entries) {
    if (digest.length !== 32) throw new TypeError(`SEV hash entry needs a 32-byte SHA-256, got ${digest.length}`);
    guidToBytesLe(guid).copy(out, at);
    out.writeUInt16LE(ENTRY_SIZE, at + 16);
    digest.copy(out, at + 18);
    at += ENTRY_SIZE;
  }
  return out;
}

/** The 4 KiB page holding the table at `offset` (the hashes GPA's offset within its page). */
export function buildSevHashPage(hashes: SevHashes, offset: number): Buffer {
  if (!Number.isInteger(offset) || offset < 0 || offset + SEV_HASH_TABLE_PADDED_SIZE > 4096) {
    throw new RangeError(`SEV hashes table offset ${offset} does not fit in a 4 KiB page`);
  }
  const page = Buffer.alloc(4096);
  buildSevHashTable(hashes).copy(page, offset);
  return page;
}
