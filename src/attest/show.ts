/**
 * @module attest/show
 * Human and JSON renderings of a parsed SNP attestation report for `cvmctl attest show`:
 * every field with its name and offset, TCB components per product, KEY_INFO, and the
 * POLICY / PLATFORM_INFO bits explained. The policy explainer comes from the sev policy
 * codec when the caller passes it; a built-in bit list is the fallback. Pure.
 */

import type { SnpReport, TcbVersion } from './report.js';

export interface BitLine {
  bits: string;
  name: string;
  set: boolean;
  value: number;
  meaning: string;
  severity?: string;
}

export type PolicyExplainer = (value: bigint) => { hex: string; bits: BitLine[]; severity?: string };

const FALLBACK_POLICY_BITS: Array<[number, string, string]> = [
  [16, 'SMT', 'SMT allowed on the host'],
  [17, 'RESERVED_MBO', 'reserved, must be one'],
  [18, 'MIGRATE_MA', 'migration agent allowed'],
  [19, 'DEBUG', 'debugging allowed'],
  [20, 'SINGLE_SOCKET', 'single socket only'],
  [21, 'CXL_ALLOW', 'CXL allowed'],
  [22, 'MEM_AES_256_XTS', 'AES-256-XTS memory encryption required'],
  [23, 'RAPL_DIS', 'RAPL must be disabled'],
  [24, 'CIPHERTEXT_HIDING', 'ciphertext hiding must be enabled'],
  [25, 'PAGE_SWAP_DISABLE', 'page swap/move disabled'],
];

export const PLATFORM_INFO_BITS: Array<[number, string, string]> = [
  [0, 'SMT_EN', 'SMT is enabled on the host'],
  [1, 'TSME_EN', 'transparent SME is enabled'],
  [2, 'ECC_EN', 'the platform uses ECC memory'],
  [3, 'RAPL_DIS', 'RAPL is disabled'],
  [4, 'CIPHERTEXT_HIDING_DRAM_EN', 'ciphertext hiding for DRAM is enabled'],
  [5, 'ALIAS_CHECK_COMPLETE', 'memory alias check completed, no aliases (v3+)'],
  [7, 'TIO_EN', 'SEV-TIO is enabled (v5+)'],
];

function fallbackPolicy(value: bigint): { hex: string; bits: BitLine[] } {
  const bits: BitLine[] = [
    { bits: '7:0', name: 'ABI_MINOR', set: (value & 0xffn) !== 0n, value: Number(value & 0xffn), meaning: 'minimum ABI minor' },
    {
      bits: '15:8',
      name: 'ABI_MAJOR',
      set: ((value >> 8n) & 0xffn) !== 0n,
      value: Number((value >> 8n) & 0xffn),
      meaning: 'minimum ABI major',
    },
  ];
  for (const [bit, name, meaning] of FALLBACK_POLICY_BITS) {
    const set = ((value >> BigInt(bit)) & 1n) === 1n;
    bits.push({ bits: String(bit), name, set, value: set ? 1 : 0, meaning });
  }
  return { hex: `0x${value.toString(16)}`, bits };
}

export function platformInfoBits(value: bigint): BitLine[] {
  return PLATFORM_INFO_BITS.map(([bit, name, meaning]) => {
    const set = ((value >> BigInt(bit)) & 1n) === 1n;
    return { bits: String(bit), name, set, value: set ? 1 : 0, meaning };
  });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function tcbJson(t: TcbVersion): Record<string, unknown> {
  return {
    raw: hex(Buffer.from(t.raw).reverse()),
    ...(t.fmc === null ? {} : { fmc: t.fmc }),
    bootloader: t.bootloader,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
  };
}

function tcbText(t: TcbVersion): string {
  const parts = [
    t.fmc === null ? null : `FMC ${t.fmc}`,
    `BL ${t.bootloader}`,
    `TEE ${t.tee}`,
    `SNP ${t.snp}`,
    `UCODE ${t.microcode}`,
  ].filter(Boolean);
  return `0x${hex(Buffer.from(t.raw).reverse())} (${parts.join(', ')})`;
}

/** Plain-data view (JSON-ready: bigints as hex strings, bytes as hex). */
export function reportToJson(r: SnpReport, explain?: PolicyExplainer): Record<string, unknown> {
  let policy: { hex: string; bits: BitLine[]; severity?: string };
  try {
    policy = explain ? explain(r.policy) : fallbackPolicy(r.policy);
  } catch {
    policy = fallbackPolicy(r.policy);
  }
  return {
    version: r.version,
    product: r.product,
    guestSvn: r.guestSvn,
    policy: { value: `0x${r.policy.toString(16)}`, ...policy },
    familyId: hex(r.familyId),
    imageId: hex(r.imageId),
    vmpl: r.vmpl,
    signatureAlgo: r.signatureAlgo,
    currentTcb: tcbJson(r.currentTcb),
    platformInfo: { value: `0x${r.platformInfo.toString(16)}`, bits: platformInfoBits(r.platformInfo) },
    keyInfo: {
      value: `0x${r.keyInfo.raw.toString(16)}`,
      authorKeyEn: r.keyInfo.authorKeyEn,
      maskChipKey: r.keyInfo.maskChipKey,
      signingKey: r.keyInfo.signingKeyName,
    },
    reportData: hex(r.reportData),
    measurement: hex(r.measurement),
    hostData: hex(r.hostData),
    idKeyDigest: hex(r.idKeyDigest),
    authorKeyDigest: hex(r.authorKeyDigest),
    reportId: hex(r.reportId),
    reportIdMa: hex(r.reportIdMa),
    reportedTcb: tcbJson(r.reportedTcb),
    cpuid: r.cpuidFamId === null ? null : { family: r.cpuidFamId, model: r.cpuidModId, stepping: r.cpuidStep },
    chipId: hex(r.chipId),
    committedTcb: tcbJson(r.committedTcb),
    currentVersion: r.currentVersion,
    committedVersion: r.committedVersion,
    launchTcb: tcbJson(r.launchTcb),
    launchMitVector: r.launchMitVector === null ? null : `0x${r.launchMitVector.toString(16)}`,
    currentMitVector: r.currentMitVector === null ? null : `0x${r.currentMitVector.toString(16)}`,
    signature: { r: hex(r.signatureR), s: hex(r.signatureS) },
    mbzViolations: r.mbzViolations,
  };
}

const ver = (v: { major: number; minor: number; build: number }) => `${v.major}.${v.minor} build ${v.build}`;

/** Text view: one `NAME (offset): value` line per field, bit explanations indented. */
export function reportToText(r: SnpReport, explain?: PolicyExplainer): string {
  const j = reportToJson(r, explain) as { policy: { value: string; bits: BitLine[]; severity?: string } };
  const lines: string[] = [];
  const f = (off: number, name: string, value: string) =>
    lines.push(`${`0x${off.toString(16).padStart(3, '0')}`} ${name.padEnd(20)} ${value}`);
  f(0x000, 'VERSION', `${r.version}${r.product ? ` (${r.product})` : ''}`);
  f(0x004, 'GUEST_SVN', String(r.guestSvn));
  f(0x008, 'POLICY', `${j.policy.value}${j.policy.severity ? ` [${j.policy.severity}]` : ''}`);
  for (const b of j.policy.bits) {
    if (b.set || b.name === 'DEBUG' || b.name === 'SMT')
      lines.push(`      ${b.bits.padStart(5)} ${b.name.padEnd(18)} ${b.bits.includes(':') ? b.value : b.set ? 1 : 0}  ${b.meaning}`);
  }
  f(0x010, 'FAMILY_ID', hex(r.familyId));
  f(0x020, 'IMAGE_ID', hex(r.imageId));
  f(0x030, 'VMPL', String(r.vmpl));
  f(0x034, 'SIGNATURE_ALGO', `${r.signatureAlgo}${r.signatureAlgo === 1 ? ' (ECDSA P-384 with SHA-384)' : ''}`);
  f(0x038, 'CURRENT_TCB', tcbText(r.currentTcb));
  f(0x040, 'PLATFORM_INFO', `0x${r.platformInfo.toString(16)}`);
  for (const b of platformInfoBits(r.platformInfo))
    lines.push(`      ${b.bits.padStart(5)} ${b.name.padEnd(26)} ${b.set ? 1 : 0}  ${b.meaning}`);
  f(
    0x048,
    'KEY_INFO',
    `0x${r.keyInfo.raw.toString(16)} (signing key ${r.keyInfo.signingKeyName}, author key ${r.keyInfo.authorKeyEn ? 'enabled' : 'disabled'}, mask chip key ${r.keyInfo.maskChipKey ? 1 : 0})`,
  );
  f(0x050, 'REPORT_DATA', hex(r.reportData));
  f(0x090, 'MEASUREMENT', hex(r.measurement));
  f(0x0c0, 'HOST_DATA', hex(r.hostData));
  f(0x0e0, 'ID_KEY_DIGEST', hex(r.idKeyDigest));
  f(0x110, 'AUTHOR_KEY_DIGEST', hex(r.authorKeyDigest));
  f(0x140, 'REPORT_ID', hex(r.reportId));
  f(0x160, 'REPORT_ID_MA', hex(r.reportIdMa));
  f(0x180, 'REPORTED_TCB', tcbText(r.reportedTcb));
  if (r.cpuidFamId !== null)
    f(0x188, 'CPUID_FAM/MOD/STEP', `0x${r.cpuidFamId.toString(16)} / 0x${r.cpuidModId!.toString(16)} / 0x${r.cpuidStep!.toString(16)}`);
  f(0x1a0, 'CHIP_ID', hex(r.chipId));
  f(0x1e0, 'COMMITTED_TCB', tcbText(r.committedTcb));
  f(0x1e8, 'CURRENT_VERSION', ver(r.currentVersion));
  f(0x1ec, 'COMMITTED_VERSION', ver(r.committedVersion));
  f(0x1f0, 'LAUNCH_TCB', tcbText(r.launchTcb));
  if (r.launchMitVector !== null) f(0x1f8, 'LAUNCH_MIT_VECTOR', `0x${r.launchMitVector.toString(16)}`);
  if (r.currentMitVector !== null) f(0x200, 'CURRENT_MIT_VECTOR', `0x${r.currentMitVector.toString(16)}`);
  f(0x2a0, 'SIGNATURE.R', hex(r.signatureR));
  f(0x2e8, 'SIGNATURE.S', hex(r.signatureS));
  if (r.mbzViolations.length) lines.push(`WARNING: ${r.mbzViolations.join('; ')}`);
  return `${lines.join('\n')}\n`;
}
