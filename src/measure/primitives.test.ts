/**
 * Unit facts of the measurement building blocks: GUID encoding, the 176-byte hashes table
 * (spec §5b), vCPU signatures (spec §5c), VMSA layout and its SHA-384 (spec §5e), and the
 * PAGE_INFO record of the SNP chain.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { Gctx, PageType, VMSA_GPA } from './gctx.js';
import { guidFromBytesLe, guidToBytesLe } from './guid.js';
import { buildSevHashPage, buildSevHashTable, cmdlineHash, sevHashesFromBytes } from './sev-hashes.js';
import { cpuSig, SEV_SNP_MEASURE_VCPU_TYPES, vcpuSignature } from './vcpu.js';
import { BSP_EIP, buildVmsa, vmsaPages } from './vmsa.js';

const sha384 = (b: Uint8Array) => createHash('sha384').update(b).digest();
const sha384hex = (b: Uint8Array) => sha384(b).toString('hex');

describe('guid', () => {
  it('encodes the OVMF footer GUID mixed-endian like uuid.bytes_le', () => {
    expect(guidToBytesLe('96b582de-1fb2-45f7-baea-a366c55a082d').toString('hex')).toBe('de82b596b21ff745baeaa366c55a082d');
  });
  propTest.prop([fc.uint8Array({ minLength: 16, maxLength: 16 })])('round-trips any 16 bytes', (bytes) => {
    expect(guidToBytesLe(guidFromBytesLe(bytes)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('SEV hashes table', () => {
  const SPEC_TABLE =
    '06d63894224fc94cb479a793d411fd21a800d82dd09720bd944caa78e7714d36ab2a3200321c8eec6a77bad179511397f913a083067ad8cb737bb260aacbfe8df70fc50a31f7ba442f3ad74b9af141e29169781d3200e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8553794e74dd2ab7f42b835d5b172d2045b3200e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550000000000000000';

  it('matches the spec example (kernel=initrd=empty, append "console=ttyS0 loglevel=7")', () => {
    const table = buildSevHashTable(sevHashesFromBytes(new Uint8Array(0), new Uint8Array(0), 'console=ttyS0 loglevel=7'));
    expect(table.length).toBe(176);
    expect(table.toString('hex')).toBe(SPEC_TABLE);
  });

  it('hashes an absent command line as a single NUL', () => {
    expect(cmdlineHash(null).equals(cmdlineHash(''))).toBe(true);
    expect(cmdlineHash(null).toString('hex')).toBe(createHash('sha256').update(Buffer.alloc(1)).digest('hex'));
  });

  it('places the table at the page offset and rejects offsets that overflow the page', () => {
    const hashes = sevHashesFromBytes(Buffer.from('k'), null, 'a');
    const page = buildSevHashPage(hashes, 0xc00);
    expect(page.length).toBe(4096);
    expect(page.subarray(0xc00, 0xc00 + 176).equals(buildSevHashTable(hashes))).toBe(true);
    expect(page.subarray(0, 0xc00).every((b) => b === 0)).toBe(true);
    expect(() => buildSevHashPage(hashes, 4096 - 175)).toThrow(RangeError);
  });
});

describe('vCPU signatures', () => {
  it.each([
    ['EPYC-v4', 0x800f12],
    ['EPYC-Rome', 0x830f10],
    ['EPYC-Milan', 0xa00f11],
    ['EPYC-Genoa', 0xa10f10],
    ['EPYC-Turin', 0xb00f00],
    ['kvm64', 0xf61],
    // QEMU >= 6.1: qemu64 is family 15 model 107 stepping 1 (pc-*-6.0 compat keeps 6/6/3)
    ['qemu64', 0x60fb1],
    ['x86-64-v2-AES', 0x60fb1],
  ])('%s → %s', (name, sig) => {
    expect(vcpuSignature(name)).toBe(sig);
  });

  it('computes extended family/model like AMD pub. 25481', () => {
    expect(cpuSig(25, 17, 0)).toBe(0xa10f10);
    expect(cpuSig(26, 0, 0)).toBe(0xb00f00);
    expect(cpuSig(6, 6, 3)).toBe(0x663);
    expect(cpuSig(15, 107, 1)).toBe(0x60fb1);
  });

  it('keeps the sev-snp-measure list intact', () => {
    expect(Object.keys(SEV_SNP_MEASURE_VCPU_TYPES)).toHaveLength(16);
  });

  it('throws a MEASURE error for an unknown model', () => {
    expect(() => vcpuSignature('host')).toThrow(CvmError);
    expect(() => vcpuSignature('host')).toThrow(/unknown vCPU model 'host'/);
  });
});

describe('VMSA', () => {
  it('BSP VMSA (QEMU, EPYC-v4, features 0x1) hashes to the spec value', () => {
    const bsp = buildVmsa({ eip: BSP_EIP, sevFeatures: 1, vcpuSig: 0x800f12, vmmType: 'QEMU' });
    expect(sha384hex(bsp)).toBe('77920c4c629ff47e90c0e174fc1ad0eb6fa664f88cd4739488058a8c6cb1a77b3856f55378e9518d0da99452d51c553a');
  });

  it('AP VMSA at the AmdSev reset block starts with the spec prefix', () => {
    const ap = buildVmsa({ eip: 0x80b004, sevFeatures: 1, vcpuSig: 0x800f12, vmmType: 'QEMU' });
    expect(sha384hex(ap).startsWith('8413b852')).toBe(true);
    expect(sha384hex(ap).endsWith('bf7b4')).toBe(true);
  });

  propTest.prop([fc.integer({ min: 0, max: 0xffffffff })])('CS base/RIP split the EIP without sign errors', (eip) => {
    const page = buildVmsa({ eip, sevFeatures: 0, vcpuSig: 0, vmmType: 'QEMU' });
    expect(page.readBigUInt64LE(0x18)).toBe(BigInt(eip - (eip % 0x10000)));
    expect(page.readBigUInt64LE(0x178)).toBe(BigInt(eip % 0x10000));
  });

  it('uses the EC2 and GCE register variants', () => {
    const ec2Bsp = buildVmsa({ eip: BSP_EIP, sevFeatures: 1, vcpuSig: 0xa00f11, vmmType: 'ec2' });
    const ec2Ap = buildVmsa({ eip: 0x80b004, sevFeatures: 1, vcpuSig: 0xa00f11, vmmType: 'ec2' });
    expect(ec2Bsp.readUInt16LE(0x12)).toBe(0x9a);
    expect(ec2Ap.readUInt16LE(0x12)).toBe(0x9b);
    expect(ec2Bsp.readUInt16LE(0x22)).toBe(0x92);
    expect(ec2Bsp.readUInt16LE(0x92)).toBe(0x83);
    expect(ec2Bsp.readBigUInt64LE(0x310)).toBe(0x600n);
    expect(ec2Bsp.readUInt32LE(0x408)).toBe(0);
    const gce = buildVmsa({ eip: BSP_EIP, sevFeatures: 1, vcpuSig: 0xa00f11, vmmType: 'gce' });
    expect(gce.readBigUInt64LE(0x268)).toBe(0x70106n);
    expect(gce.readBigUInt64LE(0x310)).toBe(0x600n);
    const qemu = buildVmsa({ eip: BSP_EIP, sevFeatures: 0x21, vcpuSig: 0xa00f11, vmmType: 'QEMU' });
    expect(qemu.readBigUInt64LE(0x310)).toBe(0xa00f11n);
    expect(qemu.readBigUInt64LE(0x3b0)).toBe(0x21n);
    expect(qemu.readUInt16LE(0x410)).toBe(0x37f);
  });

  it('needs an AP entry point for more than one vCPU', () => {
    const regs = { sevFeatures: 1, vcpuSig: 0, vmmType: 'QEMU' as const };
    expect(vmsaPages(1, 0, regs)).toHaveLength(1);
    expect(() => vmsaPages(2, 0, regs)).toThrow(CvmError);
    expect(() => vmsaPages(0, 0x80b004, regs)).toThrow(/positive integer/);
  });
});

describe('GCTX PAGE_INFO chain', () => {
  it('folds one record exactly as SNP ABI table 67 lays it out', () => {
    const contents = createHash('sha384').update('x').digest();
    const gctx = new Gctx();
    gctx.updateVmsaPage(Buffer.alloc(4096, 7));
    const afterVmsa = gctx.digest();
    const vmsaContents = createHash('sha384').update(Buffer.alloc(4096, 7)).digest();
    const rec = Buffer.alloc(0x70);
    vmsaContents.copy(rec, 48);
    rec.writeUInt16LE(0x70, 96);
    rec[98] = PageType.VMSA;
    rec.writeBigUInt64LE(BigInt(VMSA_GPA), 104);
    expect(afterVmsa.toString('hex')).toBe(sha384hex(rec));
    expect(contents.length).toBe(48);
  });

  it('uses zero contents for zero, unmeasured, secrets and CPUID pages', () => {
    for (const [type, run] of [
      [PageType.ZERO, (g: Gctx) => g.updateZeroPages(0x1000, 0x1000)],
      [PageType.UNMEASURED, (g: Gctx) => g.updateUnmeasuredPages(0x1000, 0x1000)],
      [PageType.SECRETS, (g: Gctx) => g.updateSecretsPage(0x1000)],
      [PageType.CPUID, (g: Gctx) => g.updateCpuidPage(0x1000)],
    ] as const) {
      const g = new Gctx();
      run(g);
      const rec = Buffer.alloc(0x70);
      rec.writeUInt16LE(0x70, 96);
      rec[98] = type;
      rec.writeUInt32LE(0x1000, 104);
      expect(g.digest().toString('hex')).toBe(sha384hex(rec));
    }
  });

  /** The chain as the ABI states it, one fresh record and two fresh hashes per page, nothing reused. */
  function referenceChain(gpa: number, data: Buffer): string {
    let ld = Buffer.alloc(48);
    for (let off = 0; off < data.length; off += 4096) {
      const rec = Buffer.alloc(0x70);
      ld.copy(rec, 0);
      sha384(data.subarray(off, off + 4096)).copy(rec, 48);
      rec.writeUInt16LE(0x70, 96);
      rec[98] = PageType.NORMAL;
      rec.writeBigUInt64LE(BigInt(gpa + off), 104);
      ld = sha384(rec);
    }
    return ld.toString('hex');
  }

  // Pages drawn from a few near-identical variants, so runs of equal pages (whose digest is
  // reused) sit next to pages that differ from their neighbour in one byte at the start, in
  // the middle or at the end (which must be hashed afresh).
  const VARIANTS = [-1, 0, 1, 2047, 4094, 4095];
  const pageVariant = (v: number, fill: number) => {
    const page = Buffer.alloc(4096, fill);
    if (v >= 0) page[v] = fill ^ 0x5a;
    return page;
  };
  propTest.prop([
    fc.array(fc.record({ v: fc.constantFrom(...VARIANTS), fill: fc.constantFrom(0x00, 0xff) }), { minLength: 1, maxLength: 24 }),
    fc.integer({ min: 0, max: 0xfff00 }),
  ])('reuses the digest of an equal previous page and still equals the plain chain', (pages, gpaPage) => {
    const data = Buffer.concat(pages.map(({ v, fill }) => pageVariant(v, fill)));
    const gctx = new Gctx();
    gctx.updateNormalPages(gpaPage * 4096, data);
    expect(gctx.digest().toString('hex')).toBe(referenceChain(gpaPage * 4096, data));
  });

  it('measures a real OVMF build (half of it 0xFF padding) like the plain chain', () => {
    const path = '/usr/share/OVMF/OVMF_CODE_4M.fd';
    // Debian's ovmf package (scripts/setup.sh installs it); its padding runs are what the reuse is for
    const image = readFileSync(path);
    const gpa = 0x1_0000_0000 - image.length;
    const gctx = new Gctx();
    gctx.updateNormalPages(gpa, image);
    expect(gctx.digest().toString('hex')).toBe(referenceChain(gpa, image));
  });

  it('hashes a page that differs from its equal-looking neighbour only inside', () => {
    const a = Buffer.alloc(4096, 0xff);
    const b = Buffer.alloc(4096, 0xff);
    b[1234] = 0;
    const same = new Gctx();
    same.updateNormalPages(0, Buffer.concat([a, a]));
    const differs = new Gctx();
    differs.updateNormalPages(0, Buffer.concat([a, b]));
    expect(differs.digest().equals(same.digest())).toBe(false);
    expect(differs.digest().toString('hex')).toBe(referenceChain(0, Buffer.concat([a, b])));
  });

  it('hashes a VMSA buffer again when the caller changed it between vCPUs', () => {
    const vmsaRecord = (ld: Buffer, page: Buffer) => {
      const rec = Buffer.alloc(0x70);
      ld.copy(rec, 0);
      sha384(page).copy(rec, 48);
      rec.writeUInt16LE(0x70, 96);
      rec[98] = PageType.VMSA;
      rec.writeBigUInt64LE(BigInt(VMSA_GPA), 104);
      return sha384(rec);
    };
    const page = Buffer.alloc(4096, 1);
    const gctx = new Gctx();
    gctx.updateVmsaPage(page);
    gctx.updateVmsaPage(page);
    let expected = vmsaRecord(vmsaRecord(Buffer.alloc(48), page), page);
    expect(gctx.digest().equals(expected)).toBe(true);
    page[2000] = 2; // same buffer object, new contents
    gctx.updateVmsaPage(page);
    expected = vmsaRecord(expected, page);
    expect(gctx.digest().toString('hex')).toBe(expected.toString('hex'));
  });

  it('rejects partial pages and wrong seeds', () => {
    expect(() => new Gctx().updateNormalPages(0, Buffer.alloc(100))).toThrow(RangeError);
    expect(() => new Gctx(Buffer.alloc(47))).toThrow(RangeError);
  });
});
