/**
 * @module host/capabilities/decode
 * The pure half of host capability probing: CPUID/MSR register values → qemu-server's
 * HwCapabilities, and HwCapabilities ↔ the exact one-line JSON that
 * `query-machine-capabilities` writes to `/run/qemu-server/host-hw-capabilities.json`
 * (field order, spacing and `{ }` for "nothing known" are part of the format).
 */
import type { HwCapabilities } from '../facts.js';

export interface CpuidRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** The 12-character vendor of CPUID leaf 0: EBX, EDX, ECX as little-endian ASCII. */
export function vendorFromLeaf0(regs: CpuidRegs): string {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(regs.ebx >>> 0, 0);
  b.writeUInt32LE(regs.edx >>> 0, 4);
  b.writeUInt32LE(regs.ecx >>> 0, 8);
  return b.toString('latin1').replace(/\0+$/, '');
}

/** CPUID 0x8000001F (Encrypted Memory Capabilities) → the `amd-sev` section, as the C helper computes it. */
export function amdSevFromLeaf(regs: CpuidRegs): NonNullable<HwCapabilities['amd-sev']> {
  return {
    cbitpos: regs.ebx & 0x3f,
    'reduced-phys-bits': (regs.ebx >>> 6) & 0x3f,
    'sev-support': (regs.eax & (1 << 1)) !== 0,
    'sev-support-es': (regs.eax & (1 << 3)) !== 0,
    'sev-support-snp': (regs.eax & (1 << 4)) !== 0,
  };
}

/** Extra leaf facts not in qemu-server's JSON but useful in the human summary. */
export function amdSevLeafExtras(regs: CpuidRegs): { vmplSupport: boolean; vmpls: number; maxGuests: number; minSevAsid: number } {
  return {
    vmplSupport: (regs.eax & (1 << 5)) !== 0,
    vmpls: (regs.ebx >>> 12) & 0xf,
    maxGuests: regs.ecx >>> 0,
    minSevAsid: regs.edx >>> 0,
  };
}

/** TDX per the C helper: MSR 0x982 bit 1 (TME enabled) && MSR 0xA0 == 0 && MSR 0x1401 bit 11. */
export function tdxFromMsrs(tmeActivate: bigint, msrA0: bigint, msr1401: bigint): boolean {
  return ((tmeActivate >> 1n) & 1n) === 1n && msrA0 === 0n && ((msr1401 >> 11n) & 1n) === 1n;
}

/**
 * The exact file line (with trailing newline). Only one section is written, like the HEAD helper:
 * amd-sev, else intel-tdx, else arm-caps, else `{ }`.
 */
export function formatCapabilitiesLine(caps: HwCapabilities): string {
  const amd = caps['amd-sev'];
  const tdx = caps['intel-tdx'];
  const arm = caps['arm-caps'];
  let body = '';
  if (amd) {
    body =
      ` "amd-sev": { "cbitpos": ${amd.cbitpos}, "reduced-phys-bits": ${amd['reduced-phys-bits']},` +
      ` "sev-support": ${amd['sev-support']}, "sev-support-es": ${amd['sev-support-es']},` +
      ` "sev-support-snp": ${amd['sev-support-snp']} }`;
  } else if (tdx) {
    body = ` "intel-tdx": { "tdx-support": ${tdx['tdx-support']} }`;
  } else if (arm) {
    body = ` "arm-caps": { "vendor": "${arm.vendor}", "aes": ${arm.aes}, "sha2": ${arm.sha2} }`;
  }
  return `{${body} }\n`;
}

/** The ARM implementer names of the C helper (arch/arm64 cputype.h). */
const ARM_IMPLEMENTERS: Record<number, string> = {
  0x41: 'ARM Limited',
  0x42: 'Broadcom',
  0x43: 'Cavium',
  0x48: 'HiSilicon',
  0x4e: 'NVIDIA',
  0x51: 'Qualcomm',
  0x53: 'Samsung',
  0x61: 'Apple',
  0xc0: 'Ampere',
};

export function armVendorName(implementer: number): string {
  return ARM_IMPLEMENTERS[implementer] ?? `ARM64:${implementer.toString(16).padStart(2, '0')}`.slice(0, 12);
}

/** `/proc/cpuinfo` fields the probe falls back on: x86 `vendor_id` and `flags`, arm64 `CPU implementer` and `Features`. */
export function parseCpuinfo(text: string): { vendor?: string; flags: string[]; implementer?: number; features: string[] } {
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text);
    return m?.[1]?.trim();
  };
  const implementer = field('CPU implementer');
  const parsedImpl = implementer === undefined ? undefined : Number.parseInt(implementer, implementer.startsWith('0x') ? 16 : 10);
  return {
    vendor: field('vendor_id'),
    flags: (field('flags') ?? '').split(/\s+/).filter(Boolean),
    implementer: parsedImpl === undefined || Number.isNaN(parsedImpl) ? undefined : parsedImpl,
    features: (field('Features') ?? '').split(/\s+/).filter(Boolean),
  };
}
