/**
 * @module sev/policy
 * Guest-policy codec for SEV/SEV-ES (u32) and SEV-SNP (u64): decode, encode, explain, plus the
 * PLATFORM_INFO decoder for SNP attestation reports. `explainPolicy` is the entry point of
 * `cvmctl policy explain`.
 */
import { explainSevPolicy } from './sev.js';
import { explainSnpPolicy } from './snp.js';
import type { PolicyExplanation, PolicyKind } from './types.js';
import { parsePolicyValue } from './value.js';

export * from './types.js';
export * from './value.js';
export * from './sev.js';
export * from './snp.js';
export * from './platform-info.js';

/** Explain a policy word given as number, BigInt or `0x…`/decimal text. */
export function explainPolicy(value: number | bigint | string, kind: PolicyKind): PolicyExplanation {
  const v = typeof value === 'string' ? parsePolicyValue(value) : value;
  return kind === 'sev' ? explainSevPolicy(v) : explainSnpPolicy(v);
}
