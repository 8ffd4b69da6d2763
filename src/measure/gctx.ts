/**
 * @module measure/gctx
 * The SEV-SNP guest context launch digest (SNP ABI 56860 §8.17, PAGE_INFO): every page
 * the VMM adds folds into `LD = SHA-384(LD ‖ CONTENTS ‖ len ‖ type ‖ … ‖ GPA)`. Pure. The
 * hashing is nearly all of a measurement's time, so the rest is kept to what the hashes need:
 * one reused 0x70-byte record that also holds LD, digests passed as short latin1 strings
 * instead of Buffers, and no second hash of a page equal to the one before it.
 */

import { hash } from 'node:crypto';

export const LD_SIZE = 48;
export const PAGE_SIZE = 4096;
/** The RMP records VMSA pages at (u64)-1, page-aligned, bits above 51 cleared. */
export const VMSA_GPA = 0xfffffffff000;

export const PageType = {
  NORMAL: 0x01,
  VMSA: 0x02,
  ZERO: 0x03,
  UNMEASURED: 0x04,
  SECRETS: 0x05,
  CPUID: 0x06,
} as const;

const ZEROS = Buffer.alloc(LD_SIZE);
const PAGE_INFO_SIZE = 0x70;
/** PAGE_INFO offsets (SNP ABI table 67): digest so far, page contents digest, length, type, GPA. */
const LD_AT = 0;
const CONTENTS_AT = 48;
const LENGTH_AT = 96;
const TYPE_AT = 98;
const GPA_AT = 104;

/** One-shot SHA-384 (`crypto.hash`, Node >= 20.12: no Hash object per call, about 2x faster per page). */
export function sha384(data: Uint8Array): Buffer {
  return hash('sha384', data, 'buffer');
}

/**
 * SHA-384 as a 48-character latin1 ('binary') string, one char per byte. A digest that is only
 * copied into the next PAGE_INFO record need not be a Buffer: a short string is a young-generation
 * allocation, a Buffer an ArrayBuffer with a backing store, which made each call about 40% dearer
 * for a 112-byte record.
 */
function sha384Latin1(data: Uint8Array): string {
  return hash('sha384', data, 'binary');
}

/** Whether page `off` of `data` holds the same bytes as the page before it (a memcmp, ~1/10 of a SHA-384). */
function sameAsPreviousPage(data: Buffer, off: number): boolean {
  // first and last bytes reject nearly every distinct page without a native call
  if (off === 0 || data[off] !== data[off - PAGE_SIZE] || data[off + PAGE_SIZE - 1] !== data[off - 1]) return false;
  return data.subarray(off, off + PAGE_SIZE).equals(data.subarray(off - PAGE_SIZE, off));
}

export class Gctx {
  /** The PAGE_INFO record, reused; its first 48 bytes are the launch digest so far. */
  private readonly pageInfo = Buffer.alloc(PAGE_INFO_SIZE);
  private lastVmsa: { page: Buffer; digest: string } | undefined;

  constructor(seed: Uint8Array = ZEROS) {
    if (seed.length !== LD_SIZE) throw new RangeError(`launch digest seed must be ${LD_SIZE} bytes, got ${seed.length}`);
    this.pageInfo.set(seed, LD_AT);
    this.pageInfo.writeUInt16LE(PAGE_INFO_SIZE, LENGTH_AT);
  }

  digest(): Buffer {
    return Buffer.from(this.pageInfo.subarray(LD_AT, LD_AT + LD_SIZE));
  }

  /** Fold one page in; `contents` is the page's SHA-384 as latin1, or null for the all-zero contents field. */
  private update(pageType: number, gpa: number, contents: string | null): void {
    const info = this.pageInfo;
    if (contents === null) info.fill(0, CONTENTS_AT, CONTENTS_AT + LD_SIZE);
    else info.write(contents, CONTENTS_AT, LD_SIZE, 'latin1');
    info[TYPE_AT] = pageType;
    // bytes 99..103: IMI, VMPL3/2/1 permissions, reserved: all zero and never touched
    info.writeUInt32LE(gpa % 0x1_0000_0000, GPA_AT);
    info.writeUInt32LE(Math.floor(gpa / 0x1_0000_0000), GPA_AT + 4);
    info.write(sha384Latin1(info), LD_AT, LD_SIZE, 'latin1');
  }

  /**
   * Normal pages: each page's SHA-384 enters the chain. A page equal to the one before it (the
   * runs of 0xFF padding that fill about half of a 4 MiB OVMF build) reuses that page's digest
   * instead of hashing the same bytes again: equal bytes, equal digest, so the chain is exact.
   */
  updateNormalPages(startGpa: number, data: Uint8Array): void {
    if (data.length % PAGE_SIZE !== 0) throw new RangeError(`normal pages need a multiple of 4096 bytes, got ${data.length}`);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let contents = '';
    for (let off = 0; off < bytes.length; off += PAGE_SIZE) {
      if (!sameAsPreviousPage(bytes, off)) contents = sha384Latin1(bytes.subarray(off, off + PAGE_SIZE));
      this.update(PageType.NORMAL, startGpa + off, contents);
    }
  }

  /**
   * One VMSA page per vCPU; every AP's page is the same, so a page equal to the previous VMSA
   * (compared with a copy: a caller may reuse and change its buffer) reuses that digest.
   */
  updateVmsaPage(page: Uint8Array): void {
    if (page.length !== PAGE_SIZE) throw new RangeError(`VMSA page must be 4096 bytes, got ${page.length}`);
    if (this.lastVmsa === undefined || !this.lastVmsa.page.equals(page)) {
      this.lastVmsa = { page: Buffer.from(page), digest: sha384Latin1(page) };
    }
    this.update(PageType.VMSA, VMSA_GPA, this.lastVmsa.digest);
  }

  private updateEmptyPages(type: number, gpa: number, length: number): void {
    if (length % PAGE_SIZE !== 0) throw new RangeError(`page range length must be a multiple of 4096, got ${length}`);
    for (let off = 0; off < length; off += PAGE_SIZE) this.update(type, gpa + off, null);
  }

  updateZeroPages(gpa: number, length: number): void {
    this.updateEmptyPages(PageType.ZERO, gpa, length);
  }

  updateUnmeasuredPages(gpa: number, length: number): void {
    this.updateEmptyPages(PageType.UNMEASURED, gpa, length);
  }

  updateSecretsPage(gpa: number): void {
    this.update(PageType.SECRETS, gpa, null);
  }

  updateCpuidPage(gpa: number): void {
    this.update(PageType.CPUID, gpa, null);
  }
}
