/**
 * @module sev/policy/platform-info
 * Decoder for the PLATFORM_INFO word of an SEV-SNP attestation report (offset 0x40, u64):
 * which protections the *host platform* had active when the report was signed. Used by
 * `attest show` to compare against the launch policy (e.g. SMT_EN while the policy forbids SMT).
 */
import { bitOf, setBitsIn } from './value.js';

export const PLATFORM_INFO_BITS = [
  { bit: 0, name: 'SMT_EN', key: 'smtEnabled', meaning: 'SMT is enabled on the host' },
  { bit: 1, name: 'TSME_EN', key: 'tsmeEnabled', meaning: 'transparent SME (all host memory encrypted) is enabled' },
  { bit: 2, name: 'ECC_EN', key: 'eccEnabled', meaning: 'the platform uses ECC memory' },
  { bit: 3, name: 'RAPL_DIS', key: 'raplDisabled', meaning: 'the RAPL power-reporting interface is disabled' },
  {
    bit: 4,
    name: 'CIPHERTEXT_HIDING_DRAM_EN',
    key: 'ciphertextHidingEnabled',
    meaning: 'ciphertext hiding for DRAM is enabled',
  },
  {
    bit: 5,
    name: 'ALIAS_CHECK_COMPLETE',
    key: 'aliasCheckComplete',
    meaning: 'memory alias detection completed since the last reset and found no aliases (BadRAM, report v3+)',
  },
  { bit: 7, name: 'TIO_EN', key: 'tioEnabled', meaning: 'SEV-TIO (trusted I/O) is enabled (report v5+)' },
] as const;

export type PlatformInfoFlags = { [K in (typeof PLATFORM_INFO_BITS)[number]['key']]: boolean };

export interface PlatformInfo {
  value: bigint;
  flags: PlatformInfoFlags;
  bits: { bit: number; name: string; set: boolean; meaning: string }[];
  /** Set bits that have no defined meaning (6, 8..63). */
  reservedSet: number[];
}

export function decodePlatformInfo(value: number | bigint): PlatformInfo {
  const v = BigInt.asUintN(64, BigInt(value));
  const flags = {} as PlatformInfoFlags;
  const bits: PlatformInfo['bits'] = [];
  for (const d of PLATFORM_INFO_BITS) {
    const set = bitOf(v, d.bit);
    flags[d.key] = set;
    bits.push({ bit: d.bit, name: d.name, set, meaning: d.meaning });
  }
  const reservedSet = [...setBitsIn(v, 6, 6), ...setBitsIn(v, 8, 63)];
  return { value: v, flags, bits, reservedSet };
}
