/**
 * @module measure/gctx
 * The SEV-SNP guest context launch digest (SNP ABI 56860 §8.17, PAGE_INFO): every page
 * the VMM adds folds into `LD = SHA-384(LD ‖ CONTENTS ‖ len ‖ type ‖ … ‖ GPA)`. Pure; one
 * reusable 0x70-byte record so a 4 MiB firmware costs 2 hashes per page and no garbage.
 */

import * as nodeCrypto from 'node:crypto';

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

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;
/** `crypto.hash` (Node ≥ 20.12) is a one-shot call without a Hash object: about 2× faster per page. */
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

export function sha384(data: Uint8Array): Buffer {
  return oneShot ? oneShot('sha384', data, 'buffer') : nodeCrypto.createHash('sha384').update(data).digest();
}

export class Gctx {
  private ld: Buffer;
  private readonly pageInfo = Buffer.alloc(PAGE_INFO_SIZE);

  constructor(seed: Uint8Array = ZEROS) {
    if (seed.length !== LD_SIZE) throw new RangeError(`launch digest seed must be ${LD_SIZE} bytes, got ${seed.length}`);
    this.ld = Buffer.from(seed);
    this.pageInfo.writeUInt16LE(PAGE_INFO_SIZE, 96);
  }

  digest(): Buffer {
    return Buffer.from(this.ld);
  }

  private update(pageType: number, gpa: number, contents: Uint8Array): void {
    const info = this.pageInfo;
    this.ld.copy(info, 0);
    info.set(contents, 48);
    info[98] = pageType;
    // bytes 99..103: IMI, VMPL3/2/1 permissions, reserved: all zero and never touched
    info.writeUInt32LE(gpa % 0x1_0000_0000, 104);
    info.writeUInt32LE(Math.floor(gpa / 0x1_0000_0000), 108);
    this.ld = sha384(info);
  }

  updateNormalPages(startGpa: number, data: Uint8Array): void {
    if (data.length % PAGE_SIZE !== 0) throw new RangeError(`normal pages need a multiple of 4096 bytes, got ${data.length}`);
    for (let off = 0; off < data.length; off += PAGE_SIZE) {
      this.update(PageType.NORMAL, startGpa + off, sha384(data.subarray(off, off + PAGE_SIZE)));
    }
  }

  updateVmsaPage(page: Uint8Array): void {
    if (page.length !== PAGE_SIZE) throw new RangeError(`VMSA page must be 4096 bytes, got ${page.length}`);
    this.update(PageType.VMSA, VMSA_GPA, sha384(page));
  }

  private updateEmptyPages(type: number, gpa: number, length: number): void {
    if (length % PAGE_SIZE !== 0) throw new RangeError(`page range length must be a multiple of 4096, got ${length}`);
    for (let off = 0; off < length; off += PAGE_SIZE) this.update(type, gpa + off, ZEROS);
  }

  updateZeroPages(gpa: number, length: number): void {
    this.updateEmptyPages(PageType.ZERO, gpa, length);
  }

  updateUnmeasuredPages(gpa: number, length: number): void {
    this.updateEmptyPages(PageType.UNMEASURED, gpa, length);
  }

  updateSecretsPage(gpa: number): void {
    this.update(PageType.SECRETS, gpa, ZEROS);
  }

  updateCpuidPage(gpa: number): void {
    this.update(PageType.CPUID, gpa, ZEROS);
  }
}
