/**
 * @module attest/report
 * Parser for the SEV-SNP ATTESTATION_REPORT (0x4A0 bytes, little-endian; SNP ABI 56860
 * Table 23), versions 2, 3 (4 shares its layout) and 5: every field by name, the product
 * generation that decides the TCB_VERSION byte layout, and a list of must-be-zero
 * violations. Input may be the raw binary or its hex text. Pure.
 */

import { CvmError } from '../errors.js';

export const REPORT_SIZE = 0x4a0;
export const SIGNED_REGION_END = 0x2a0;

export type Product = 'Milan' | 'Genoa' | 'Turin' | 'Venice';

export interface TcbVersion {
  raw: Buffer;
  fmc: number | null;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface FirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

export interface KeyInfo {
  raw: number;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  /** 0 VCEK, 1 VLEK, 7 none. */
  signingKey: number;
  signingKeyName: string;
}

export interface SnpReport {
  raw: Buffer;
  version: number;
  /** Layout the parser used: 2, 3 (also for 4) or 5. */
  layout: 2 | 3 | 5;
  guestSvn: number;
  policy: bigint;
  familyId: Buffer;
  imageId: Buffer;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: TcbVersion;
  platformInfo: bigint;
  keyInfo: KeyInfo;
  reportData: Buffer;
  measurement: Buffer;
  hostData: Buffer;
  idKeyDigest: Buffer;
  authorKeyDigest: Buffer;
  reportId: Buffer;
  reportIdMa: Buffer;
  reportedTcb: TcbVersion;
  cpuidFamId: number | null;
  cpuidModId: number | null;
  cpuidStep: number | null;
  chipId: Buffer;
  committedTcb: TcbVersion;
  currentVersion: FirmwareVersion;
  committedVersion: FirmwareVersion;
  launchTcb: TcbVersion;
  launchMitVector: bigint | null;
  currentMitVector: bigint | null;
  /** R and S as big-endian 48-byte integers (the report stores 72-byte little-endian values). */
  signatureR: Buffer;
  signatureS: Buffer;
  /** Product generation (decides the TCB layout); null if the CPUID values are unknown. */
  product: Product | null;
  /** Human-readable must-be-zero / reserved-bit violations. */
  mbzViolations: string[];
}

const SIGNING_KEYS: Record<number, string> = { 0: 'VCEK', 1: 'VLEK', 7: 'none' };

/** Product from CPUID family/model (virtee/sev `Generation::identify_cpu`). */
export function productFromCpuid(family: number, model: number): Product | null {
  if (family === 0x19) {
    if (model <= 0x0f) return 'Milan';
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return 'Genoa';
  }
  if (family === 0x1a) {
    if (model <= 0x11) return 'Turin';
    if ((model >= 0x50 && model <= 0x57) || (model >= 0x90 && model <= 0xaf) || (model >= 0xc0 && model <= 0xc7)) return 'Venice';
  }
  return null;
}

/** TCB_VERSION: Milan/Genoa bytes {BL, TEE, -, -, -, -, SNP, UCODE}; Turin {FMC, BL, TEE, SNP, -, -, -, UCODE}. */
export function decodeTcb(raw: Buffer, product: Product | null): TcbVersion {
  const bytes = Buffer.from(raw);
  if (product === 'Turin') {
    return { raw: bytes, fmc: bytes[0]!, bootloader: bytes[1]!, tee: bytes[2]!, snp: bytes[3]!, microcode: bytes[7]! };
  }
  if (product === 'Venice') {
    return { raw: bytes, fmc: bytes[0]!, bootloader: 0, tee: bytes[1]!, snp: bytes[2]!, microcode: 0 };
  }
  return { raw: bytes, fmc: null, bootloader: bytes[0]!, tee: bytes[1]!, snp: bytes[6]!, microcode: bytes[7]! };
}

/** Accept raw bytes or hex text (whitespace ignored). */
export function reportBytes(input: Uint8Array): Buffer {
  const buf = Buffer.from(input);
  if (buf.length === REPORT_SIZE) return buf;
  const text = buf.toString('latin1').replace(/\s+/g, '');
  if (/^[0-9a-fA-F]+$/.test(text) && text.length === REPORT_SIZE * 2) return Buffer.from(text, 'hex');
  throw new CvmError(
    'REPORT_INVALID',
    `attestation report must be ${REPORT_SIZE} bytes (or ${REPORT_SIZE * 2} hex digits), got ${buf.length} bytes`,
  );
}

function nonZeroRanges(buf: Buffer, from: number, to: number): string | null {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return `0x${from.toString(16).toUpperCase()}-0x${(to - 1).toString(16).toUpperCase()}`;
  return null;
}

function version(buf: Buffer, at: number): FirmwareVersion {
  return { build: buf[at]!, minor: buf[at + 1]!, major: buf[at + 2]! };
}

export function parseReport(input: Uint8Array): SnpReport {
  const buf = reportBytes(input);
  const ver = buf.readUInt32LE(0);
  if (ver < 2) throw new CvmError('REPORT_INVALID', `unsupported attestation report version ${ver} (supported: 2, 3, 4, 5)`);
  const layout: 2 | 3 | 5 = ver === 2 ? 2 : ver <= 4 ? 3 : 5;
  const chipId = Buffer.from(buf.subarray(0x1a0, 0x1e0));
  let product: Product | null;
  let cpuidFamId: number | null = null;
  let cpuidModId: number | null = null;
  let cpuidStep: number | null = null;
  if (layout === 2) {
    // v2 has no CPUID bytes: a chip id with only 8 significant bytes is a Turin, else a legacy layout.
    product = chipId.subarray(8).every((b) => b === 0) && chipId.subarray(0, 8).some((b) => b !== 0) ? 'Turin' : null;
  } else {
    cpuidFamId = buf[0x188]!;
    cpuidModId = buf[0x189]!;
    cpuidStep = buf[0x18a]!;
    product = productFromCpuid(cpuidFamId, cpuidModId);
  }
  const tcb = (at: number) => decodeTcb(buf.subarray(at, at + 8), product);
  const keyRaw = buf.readUInt32LE(0x48);
  const mbz: string[] = [];
  const check = (from: number, to: number, what: string) => {
    const r = nonZeroRanges(buf, from, to);
    if (r) mbz.push(`${what} (${r}) is not zero`);
  };
  check(0x4c, 0x50, 'reserved after KEY_INFO');
  if (layout === 2) check(0x188, 0x1a0, 'reserved before CHIP_ID');
  else check(0x18b, 0x1a0, 'reserved after CPUID_STEP');
  check(0x1eb, 0x1ec, 'reserved after CURRENT_MAJOR');
  check(0x1ef, 0x1f0, 'reserved after COMMITTED_MAJOR');
  if (layout === 5) check(0x208, 0x2a0, 'reserved after CURRENT_MIT_VECTOR');
  else check(0x1f8, 0x2a0, 'reserved after LAUNCH_TCB');
  check(0x2a0 + 48, 0x2a0 + 72, 'SIGNATURE.R high bytes');
  check(0x2a0 + 72 + 48, 0x2a0 + 144, 'SIGNATURE.S high bytes');
  check(0x2a0 + 144, REPORT_SIZE, 'reserved after SIGNATURE');
  if (keyRaw >>> 5) mbz.push(`KEY_INFO reserved bits 31:5 are not zero (0x${keyRaw.toString(16)})`);
  const policy = buf.readBigUInt64LE(0x08);
  if (policy >> 26n) mbz.push(`POLICY bits 63:26 are not zero (0x${policy.toString(16)})`);
  if (!((policy >> 17n) & 1n)) mbz.push('POLICY bit 17 (reserved, must be one) is zero');

  const signingKey = (keyRaw >>> 2) & 0x7;
  return {
    raw: buf,
    version: ver,
    layout,
    guestSvn: buf.readUInt32LE(0x04),
    policy,
    familyId: Buffer.from(buf.subarray(0x10, 0x20)),
    imageId: Buffer.from(buf.subarray(0x20, 0x30)),
    vmpl: buf.readUInt32LE(0x30),
    signatureAlgo: buf.readUInt32LE(0x34),
    currentTcb: tcb(0x38),
    platformInfo: buf.readBigUInt64LE(0x40),
    keyInfo: {
      raw: keyRaw,
      authorKeyEn: Boolean(keyRaw & 1),
      maskChipKey: Boolean(keyRaw & 2),
      signingKey,
      signingKeyName: SIGNING_KEYS[signingKey] ?? `reserved (${signingKey})`,
    },
    reportData: Buffer.from(buf.subarray(0x50, 0x90)),
    measurement: Buffer.from(buf.subarray(0x90, 0xc0)),
    hostData: Buffer.from(buf.subarray(0xc0, 0xe0)),
    idKeyDigest: Buffer.from(buf.subarray(0xe0, 0x110)),
    authorKeyDigest: Buffer.from(buf.subarray(0x110, 0x140)),
    reportId: Buffer.from(buf.subarray(0x140, 0x160)),
    reportIdMa: Buffer.from(buf.subarray(0x160, 0x180)),
    reportedTcb: tcb(0x180),
    cpuidFamId,
    cpuidModId,
    cpuidStep,
    chipId,
    committedTcb: tcb(0x1e0),
    currentVersion: version(buf, 0x1e8),
    committedVersion: version(buf, 0x1ec),
    launchTcb: tcb(0x1f0),
    launchMitVector: layout === 5 ? buf.readBigUInt64LE(0x1f8) : null,
    currentMitVector: layout === 5 ? buf.readBigUInt64LE(0x200) : null,
    signatureR: Buffer.from(buf.subarray(0x2a0, 0x2a0 + 48)).reverse(),
    signatureS: Buffer.from(buf.subarray(0x2a0 + 72, 0x2a0 + 72 + 48)).reverse(),
    product,
    mbzViolations: mbz,
  };
}

/** Re-decode the TCB fields once the product is known from elsewhere (VCEK, chain). */
export function withProduct(report: SnpReport, product: Product): SnpReport {
  if (report.product === product) return report;
  const tcb = (t: TcbVersion) => decodeTcb(t.raw, product);
  return {
    ...report,
    product,
    currentTcb: tcb(report.currentTcb),
    reportedTcb: tcb(report.reportedTcb),
    committedTcb: tcb(report.committedTcb),
    launchTcb: tcb(report.launchTcb),
  };
}
