/**
 * @module sev/policy/types
 * Shared shapes of the guest-policy codec: the decoded fields of an SEV/SEV-ES (u32) and an
 * SEV-SNP (u64) policy word, and the per-bit explanation `cvmctl policy explain` prints.
 * Severities rate what a bit means for the guest owner's security, not whether it is valid:
 * invalid words never get this far (the decoders throw POLICY_INVALID).
 */

/** `ok`: the bit strengthens the guest; `info`: neutral/contextual; `warning`: weakens it; `critical`: unsafe in production. */
export type PolicySeverity = 'ok' | 'info' | 'warning' | 'critical';

export type PolicyKind = 'sev' | 'snp';

/** One bit or bit field of a policy word, explained. */
export interface PolicyBitExplanation {
  /** Bit position (`"19"`) or inclusive range, high first (`"23:16"`). */
  bits: string;
  name: string;
  /** For a flag: the bit is 1. For a field: the field is non-zero. */
  set: boolean;
  /** 0/1 for a flag, the field value for a multi-bit field. */
  value: number;
  meaning: string;
  severity: PolicySeverity;
}

export interface PolicyExplanation {
  kind: PolicyKind;
  /** `%#x` form, like qemu-server prints it (`0x0` for zero is printed as `0`). */
  hex: string;
  decimal: string;
  bits: PolicyBitExplanation[];
  /** The highest severity among the bits. */
  severity: PolicySeverity;
}

/** SEV / SEV-ES guest policy (SEV API pub. 55766 §3), 32 bits. */
export interface SevPolicyFields {
  noDebug: boolean; // bit 0 NODBG
  noKeySharing: boolean; // bit 1 NOKS
  es: boolean; // bit 2 ES
  noSend: boolean; // bit 3 NOSEND
  domain: boolean; // bit 4 DOMAIN
  sev: boolean; // bit 5 SEV
  apiMajor: number; // 23:16
  apiMinor: number; // 31:24 (the high byte)
}

/** SEV-SNP guest policy (SNP firmware ABI pub. 56860 §4.3), 64 bits; bit 17 is implied. */
export interface SnpPolicyFields {
  abiMinor: number; // 7:0
  abiMajor: number; // 15:8
  smt: boolean; // 16
  migrateMa: boolean; // 18
  debug: boolean; // 19
  singleSocket: boolean; // 20
  cxlAllow: boolean; // 21
  memAes256Xts: boolean; // 22
  raplDis: boolean; // 23
  ciphertextHiding: boolean; // 24
  pageSwapDisable: boolean; // 25
}

const RANK: Record<PolicySeverity, number> = { ok: 0, info: 1, warning: 2, critical: 3 };

export function maxSeverity(list: readonly PolicySeverity[]): PolicySeverity {
  let worst: PolicySeverity = 'ok';
  for (const s of list) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/** Perl `sprintf("%#x")`: lowercase hex with `0x`, except zero which is printed as `0`. */
export function formatPolicyHex(value: number | bigint): string {
  const big = BigInt(value);
  return big === 0n ? '0' : `0x${big.toString(16)}`;
}
