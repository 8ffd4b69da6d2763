/**
 * @module measure/vmsa
 * The initial VM save areas (VMSA, 4 KiB each) that SEV-ES and SEV-SNP measure, one per
 * vCPU: the BSP starts at the reset vector 0xFFFFFFF0, APs at the SEV-ES reset block
 * address from the firmware. Register values per VMM (QEMU/KVM, AWS EC2, GCE) follow
 * virtee/sev-snp-measure `vmsa.py`; offsets are those of the APM Vol 2 Table B-4 save area.
 * Pure. Every 32-bit mask is followed by `>>> 0` because `x & 0xffff0000` is negative in JS.
 */

import { CvmError } from '../errors.js';

export type VmmType = 'QEMU' | 'ec2' | 'gce';
export const VMM_TYPES: readonly VmmType[] = ['QEMU', 'ec2', 'gce'];

export const VMSA_SIZE = 4096;
export const BSP_EIP = 0xfffffff0;

/** Field offsets inside the save area. */
const OFF = {
  es: 0x00,
  cs: 0x10,
  ss: 0x20,
  ds: 0x30,
  fs: 0x40,
  gs: 0x50,
  gdtr: 0x60,
  ldtr: 0x70,
  idtr: 0x80,
  tr: 0x90,
  efer: 0xd0,
  cr4: 0x148,
  cr0: 0x158,
  dr7: 0x160,
  dr6: 0x168,
  rflags: 0x170,
  rip: 0x178,
  gPat: 0x268,
  rdx: 0x310,
  sevFeatures: 0x3b0,
  xcr0: 0x3e8,
  mxcsr: 0x408,
  x87Fcw: 0x410,
} as const;

interface Segment {
  selector: number;
  attrib: number;
  limit: number;
  base: number;
}

function writeU64(buf: Buffer, offset: number, value: number | bigint): void {
  buf.writeBigUInt64LE(BigInt(value), offset);
}

function writeSegment(buf: Buffer, offset: number, seg: Segment): void {
  buf.writeUInt16LE(seg.selector, offset);
  buf.writeUInt16LE(seg.attrib, offset + 2);
  buf.writeUInt32LE(seg.limit >>> 0, offset + 4);
  writeU64(buf, offset + 8, seg.base);
}

const seg = (selector: number, attrib: number, limit: number, base = 0): Segment => ({ selector, attrib, limit, base });

export interface VmsaRegisters {
  eip: number;
  sevFeatures: bigint | number;
  vcpuSig: number;
  vmmType: VmmType;
}

/** Build one VMSA page for a vCPU that starts at `eip`. */
export function buildVmsa({ eip, sevFeatures, vcpuSig, vmmType }: VmsaRegisters): Buffer {
  let gPat = 0x0007040600070406n; // PAT MSR reset value, APM Vol 2 §A.3
  let csFlags = 0x9b;
  let ssFlags = 0x93;
  let trFlags = 0x8b;
  let rdx = vcpuSig >>> 0;
  let mxcsr = 0x1f80;
  let fcw = 0x37f;
  switch (vmmType) {
    case 'QEMU':
      break;
    case 'ec2':
      if (eip >>> 0 === BSP_EIP) csFlags = 0x9a;
      ssFlags = 0x92;
      trFlags = 0x83;
      rdx = 0x600;
      mxcsr = 0;
      fcw = 0;
      break;
    case 'gce':
      gPat = 0x00070106n; // GCE overwrites the default PAT
      rdx = 0x600;
      mxcsr = 0;
      fcw = 0;
      break;
    default:
      throw new CvmError('MEASURE', `unknown VMM type '${String(vmmType)}' (allowed: ${VMM_TYPES.join(', ')})`);
  }
  const page = Buffer.alloc(VMSA_SIZE);
  writeSegment(page, OFF.es, seg(0, 0x93, 0xffff));
  writeSegment(page, OFF.cs, seg(0xf000, csFlags, 0xffff, (eip & 0xffff0000) >>> 0));
  writeSegment(page, OFF.ss, seg(0, ssFlags, 0xffff));
  writeSegment(page, OFF.ds, seg(0, 0x93, 0xffff));
  writeSegment(page, OFF.fs, seg(0, 0x93, 0xffff));
  writeSegment(page, OFF.gs, seg(0, 0x93, 0xffff));
  writeSegment(page, OFF.gdtr, seg(0, 0, 0xffff));
  writeSegment(page, OFF.idtr, seg(0, 0, 0xffff));
  writeSegment(page, OFF.ldtr, seg(0, 0x82, 0xffff));
  writeSegment(page, OFF.tr, seg(0, trFlags, 0xffff));
  writeU64(page, OFF.efer, 0x1000); // KVM sets EFER.SVME
  writeU64(page, OFF.cr4, 0x40); // KVM sets CR4.MCE
  writeU64(page, OFF.cr0, 0x10);
  writeU64(page, OFF.dr7, 0x400);
  writeU64(page, OFF.dr6, 0xffff0ff0);
  writeU64(page, OFF.rflags, 0x2);
  writeU64(page, OFF.rip, (eip & 0xffff) >>> 0);
  writeU64(page, OFF.gPat, gPat);
  writeU64(page, OFF.rdx, rdx);
  writeU64(page, OFF.sevFeatures, sevFeatures);
  writeU64(page, OFF.xcr0, 0x1);
  page.writeUInt32LE(mxcsr, OFF.mxcsr);
  page.writeUInt16LE(fcw, OFF.x87Fcw);
  return page;
}

/**
 * VMSA pages for `vcpus` vCPUs: BSP first, then identical AP pages. `apEip` 0 means the
 * firmware gave no AP entry, which is only valid for a single vCPU.
 */
export function vmsaPages(vcpus: number, apEip: number, regs: Omit<VmsaRegisters, 'eip'>): Buffer[] {
  if (!Number.isInteger(vcpus) || vcpus < 1) {
    throw new CvmError('MEASURE', `vCPU count must be a positive integer, got ${vcpus}`);
  }
  const pages = [buildVmsa({ ...regs, eip: BSP_EIP })];
  if (vcpus > 1) {
    if (!apEip) throw new CvmError('MEASURE', 'firmware has no SEV-ES AP reset address (0), cannot start more than one vCPU');
    const ap = buildVmsa({ ...regs, eip: apEip });
    for (let i = 1; i < vcpus; i++) pages.push(ap);
  }
  return pages;
}

/**
 * VMSA for SNP with a Coconut-SVSM: every vCPU starts in 32-bit protected mode at the
 * SVSM entry with flat segments. sev-snp-measure leaves X87_FCW at 0 here (its keyword
 * names a non-field), and the reference digests depend on that, so we do the same.
 */
export function buildSvsmVmsa(eip: number, vcpuSig: number): Buffer {
  const page = Buffer.alloc(VMSA_SIZE);
  writeSegment(page, OFF.es, seg(16, 0xc93, 0xffffffff));
  writeSegment(page, OFF.cs, seg(8, 0xc9b, 0xffffffff));
  writeSegment(page, OFF.ss, seg(16, 0xc93, 0xffffffff));
  writeSegment(page, OFF.ds, seg(16, 0xc93, 0xffffffff));
  writeSegment(page, OFF.fs, seg(16, 0xc93, 0xffffffff));
  writeSegment(page, OFF.gs, seg(0, 0x93, 0xffff));
  writeSegment(page, OFF.gdtr, seg(0, 0, 0xffff));
  writeSegment(page, OFF.idtr, seg(0, 0, 0xffff));
  writeSegment(page, OFF.ldtr, seg(0, 0x82, 0xffff));
  writeSegment(page, OFF.tr, seg(0, 0x8b, 0xffff));
  writeU64(page, OFF.efer, 0x1000);
  writeU64(page, OFF.cr4, 0x40);
  writeU64(page, OFF.cr0, 0x11);
  writeU64(page, OFF.dr7, 0x400);
  writeU64(page, OFF.dr6, 0xffff0ff0);
  writeU64(page, OFF.rflags, 0x2);
  writeU64(page, OFF.rip, eip);
  writeU64(page, OFF.gPat, 0x0007040600070406n);
  writeU64(page, OFF.rdx, vcpuSig >>> 0);
  writeU64(page, OFF.sevFeatures, 0x1);
  writeU64(page, OFF.xcr0, 0x1);
  page.writeUInt32LE(0x1f80, OFF.mxcsr);
  return page;
}
