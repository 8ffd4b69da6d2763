/**
 * @module measure/digest
 * Launch digests, bit-identical to virtee/sev-snp-measure 0.0.13:
 * SEV = SHA-256(OVMF ‖ [hashes table]); SEV-ES adds the VMSAs; SEV-SNP chains PAGE_INFO
 * records over the firmware pages, the OVMF SEV metadata sections and one VMSA per vCPU;
 * `snp:ovmf-hash` is the firmware-only prefix of the SNP chain (seed for `snpOvmfHash`);
 * `snp:svsm` measures OVMF + Coconut-SVSM. Pure: firmware bytes and kernel/initrd digests in.
 */

import { createHash } from 'node:crypto';
import { CvmError } from '../errors.js';
import { Gctx, LD_SIZE, PAGE_SIZE } from './gctx.js';
import { checkSnpSections, FirmwareImage, SECTION_TYPE_NAMES, SectionType, type MetadataSection } from './ovmf.js';
import { buildSevHashPage, buildSevHashTable, type SevHashes } from './sev-hashes.js';
import { buildSvsmVmsa, vmsaPages, type VmmType } from './vmsa.js';

export type MeasureMode = 'sev' | 'seves' | 'snp' | 'snp:ovmf-hash' | 'snp:svsm';
export const MEASURE_MODES: readonly MeasureMode[] = ['sev', 'seves', 'snp', 'snp:ovmf-hash', 'snp:svsm'];

export interface MeasureInput {
  mode: MeasureMode;
  /** Firmware image bytes (whole file). */
  ovmf: Uint8Array;
  /** Number of initial vCPUs (not used by sev / snp:ovmf-hash). */
  vcpus?: number;
  /** CPUID signature for RDX (QEMU VMM; ec2/gce use 0x600). */
  vcpuSig?: number;
  vmmType?: VmmType;
  /** Present when a kernel is measured (direct boot with kernel-hashes). */
  kernelHashes?: SevHashes | null;
  /** SEV_FEATURES for SNP VMSAs (sev-snp-measure default 0x1). */
  guestFeatures?: bigint | number;
  /** Precomputed `snp:ovmf-hash` digest to resume from instead of hashing the firmware pages. */
  snpOvmfHash?: string | Uint8Array | null;
  /** snp:svsm: SVSM image and the OVMF vars size that sits between it and OVMF. */
  svsm?: Uint8Array;
  varsSize?: number;
  /** Called with every measured VMSA page in order (sev-snp-measure `--dump-vmsa`). */
  onVmsa?: (index: number, page: Buffer) => void;
}

const KERNEL_HASHES_WITHOUT_SECTION = "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section";
const KERNEL_HASHES_UNSUPPORTED = "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement";

function fail(message: string, details?: Record<string, unknown>): never {
  throw new CvmError('MEASURE', message, details ? { details } : {});
}

/** Upper bound on initial vCPUs a measurement accepts (QEMU's x86 maximum is 4096 too). */
export const MAX_VCPUS = 4096;

function requireVcpus(input: MeasureInput): number {
  const n = input.vcpus;
  if (n === undefined) fail(`missing --vcpus N in guest mode '${input.mode}'`);
  // one VMSA per vCPU is hashed: bound the work; QEMU's x86 limit is far below this
  if (!Number.isInteger(n) || n < 1 || n > MAX_VCPUS) {
    throw new CvmError('PARAM_INVALID', `vcpus: invalid value '${n}' (allowed: integer from 1 to ${MAX_VCPUS})`);
  }
  return n;
}

function requirePageAligned(image: FirmwareImage): void {
  if (image.size % PAGE_SIZE !== 0) {
    fail(`${image.label} image size ${image.size} is not a multiple of 4096 bytes`, { size: image.size });
  }
}

function parseSeed(seed: string | Uint8Array): Buffer {
  const bytes = typeof seed === 'string' ? Buffer.from(seed, 'hex') : Buffer.from(seed);
  if (bytes.length !== LD_SIZE || (typeof seed === 'string' && seed.length !== LD_SIZE * 2)) {
    const shown = typeof seed === 'string' ? seed : bytes.toString('hex');
    throw new CvmError('PARAM_INVALID', `snp-ovmf-hash: invalid value '${shown}' - must be ${LD_SIZE * 2} hex digits (a SHA-384)`);
  }
  return bytes;
}

function updateSection(gctx: Gctx, section: MetadataSection, image: FirmwareImage, hashes: SevHashes | null, vmmType: VmmType): void {
  switch (section.type) {
    case SectionType.SNP_SEC_MEM:
      if (vmmType === 'gce') gctx.updateUnmeasuredPages(section.gpa, section.size);
      else gctx.updateZeroPages(section.gpa, section.size);
      return;
    case SectionType.SNP_SECRETS:
      gctx.updateSecretsPage(section.gpa);
      return;
    case SectionType.CPUID:
      // EC2 adds the CPUID page(s) after every other section.
      if (vmmType !== 'ec2') gctx.updateCpuidPage(section.gpa);
      return;
    case SectionType.SNP_KERNEL_HASHES:
      if (hashes) {
        const page = buildSevHashPage(hashes, image.sevHashesTableGpa() & 0xfff);
        if (section.size !== page.length) {
          fail(`SNP_KERNEL_HASHES section is ${section.size} bytes; the hashes page is ${page.length}`);
        }
        gctx.updateNormalPages(section.gpa, page);
      } else {
        gctx.updateZeroPages(section.gpa, section.size);
      }
      return;
    case SectionType.SVSM_CAA:
      gctx.updateZeroPages(section.gpa, section.size);
      return;
    default:
      fail(`unknown OVMF metadata section type ${section.type} at GPA 0x${section.gpa.toString(16)}`, {
        type: section.type,
        known: SECTION_TYPE_NAMES,
      });
  }
}

function updateMetadataPages(gctx: Gctx, image: FirmwareImage, hashes: SevHashes | null, vmmType: VmmType): void {
  const sections = image.requireSevMetadata();
  checkSnpSections(sections, image.label);
  for (const section of sections) updateSection(gctx, section, image, hashes, vmmType);
  if (vmmType === 'ec2') {
    for (const section of sections) if (section.type === SectionType.CPUID) gctx.updateCpuidPage(section.gpa);
  }
  if (hashes && !image.hasMetadataSection(SectionType.SNP_KERNEL_HASHES)) fail(KERNEL_HASHES_WITHOUT_SECTION);
}

/** `snp:ovmf-hash`: the SNP digest after the firmware pages only. */
export function snpOvmfHash(ovmf: Uint8Array): Buffer {
  const image = new FirmwareImage(ovmf);
  requirePageAligned(image);
  const gctx = new Gctx();
  gctx.updateNormalPages(image.gpa, image.data);
  return gctx.digest();
}

function snpDigest(input: MeasureInput): Buffer {
  const vcpus = requireVcpus(input);
  const vmmType = input.vmmType ?? 'QEMU';
  const image = new FirmwareImage(input.ovmf);
  let gctx: Gctx;
  if (input.snpOvmfHash) {
    gctx = new Gctx(parseSeed(input.snpOvmfHash));
  } else {
    requirePageAligned(image);
    gctx = new Gctx();
    gctx.updateNormalPages(image.gpa, image.data);
  }
  const hashes = input.kernelHashes ?? null;
  updateMetadataPages(gctx, image, hashes, vmmType);
  const pages = vmsaPages(vcpus, image.sevEsResetEip(), {
    sevFeatures: input.guestFeatures ?? 0x1,
    vcpuSig: input.vcpuSig ?? 0,
    vmmType,
  });
  pages.forEach((page, i) => {
    gctx.updateVmsaPage(page);
    input.onVmsa?.(i, page);
  });
  return gctx.digest();
}

function svsmDigest(input: MeasureInput): Buffer {
  const vcpus = requireVcpus(input);
  if ((input.vmmType ?? 'QEMU') !== 'QEMU') fail('SVSM mode is only implemented for Qemu.');
  if (!input.svsm) fail('snp:svsm mode requires --svsm');
  if (input.varsSize === undefined) fail('snp:svsm mode requires --vars-size or --vars-file');
  const ovmf = new FirmwareImage(input.ovmf);
  const svsm = new FirmwareImage(input.svsm, { endAt: ovmf.gpa - input.varsSize, label: 'SVSM' });
  requirePageAligned(ovmf);
  requirePageAligned(svsm);
  const eip = svsm.svsmEntryEip();
  const gctx = new Gctx();
  gctx.updateNormalPages(ovmf.gpa, ovmf.data);
  gctx.updateNormalPages(svsm.gpa, svsm.data);
  updateMetadataPages(gctx, svsm, null, 'QEMU');
  const page = buildSvsmVmsa(eip, input.vcpuSig ?? 0);
  for (let i = 0; i < vcpus; i++) {
    gctx.updateVmsaPage(page);
    input.onVmsa?.(i, page);
  }
  return gctx.digest();
}

function sevFamilyDigest(input: MeasureInput, withVmsas: boolean): Buffer {
  const image = new FirmwareImage(input.ovmf);
  const hash = createHash('sha256').update(image.data);
  if (input.kernelHashes) {
    if (!image.isSevHashesTableSupported()) fail(KERNEL_HASHES_UNSUPPORTED);
    hash.update(buildSevHashTable(input.kernelHashes));
  }
  if (withVmsas) {
    const vcpus = requireVcpus(input);
    const pages = vmsaPages(vcpus, image.sevEsResetEip(), {
      sevFeatures: 0,
      vcpuSig: input.vcpuSig ?? 0,
      vmmType: input.vmmType ?? 'QEMU',
    });
    pages.forEach((page, i) => {
      hash.update(page);
      input.onVmsa?.(i, page);
    });
  }
  return hash.digest();
}

/** The launch digest for any mode: 32 bytes for sev/seves, 48 for the SNP modes. */
export function calcLaunchDigest(input: MeasureInput): Buffer {
  if (input.snpOvmfHash && input.mode !== 'snp') fail('SNP OVMF hash only works with SNP');
  switch (input.mode) {
    case 'snp':
      return snpDigest(input);
    case 'snp:ovmf-hash':
      return snpOvmfHash(input.ovmf);
    case 'snp:svsm':
      return svsmDigest(input);
    case 'seves':
      return sevFamilyDigest(input, true);
    case 'sev':
      return sevFamilyDigest(input, false);
    default:
      return fail(`unknown measurement mode '${String(input.mode)}' (allowed: sev, seves, snp, snp:ovmf-hash, snp:svsm)`);
  }
}

/** Render a digest as sev-snp-measure prints it. */
export function formatDigest(digest: Uint8Array, format: 'hex' | 'base64' = 'hex'): string {
  return Buffer.from(digest).toString(format);
}
