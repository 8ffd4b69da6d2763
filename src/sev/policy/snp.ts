/**
 * @module sev/policy/snp
 * Codec for the SEV-SNP guest policy, a u64 handed to SNP_LAUNCH_START and echoed in every
 * attestation report (SNP firmware ABI pub. 56860 §4.3): 7:0 ABI_MINOR, 15:8 ABI_MAJOR,
 * 16 SMT, 17 reserved-must-be-one, 18 MIGRATE_MA, 19 DEBUG, 20 SINGLE_SOCKET, 21 CXL_ALLOW,
 * 22 MEM_AES_256_XTS, 23 RAPL_DIS, 24 CIPHERTEXT_HIDING, 25 PAGE_SWAP_DISABLE, 63:26 MBZ.
 * BigInt throughout so no bit above 2^53 is lost.
 */
import { CvmError } from '../../errors.js';
import {
  type PolicyBitExplanation,
  type PolicyExplanation,
  type PolicySeverity,
  type SnpPolicyFields,
  formatPolicyHex,
  maxSeverity,
} from './types.js';
import { bitOf, fieldOf, setBitsIn, toPolicyBigInt } from './value.js';

export const SNP_POLICY_BITS = {
  SMT: 16,
  RESERVED_MBO: 17,
  MIGRATE_MA: 18,
  DEBUG: 19,
  SINGLE_SOCKET: 20,
  CXL_ALLOW: 21,
  MEM_AES_256_XTS: 22,
  RAPL_DIS: 23,
  CIPHERTEXT_HIDING: 24,
  PAGE_SWAP_DISABLE: 25,
} as const;

const MBZ_LO = 26;
const MBZ_HI = 63;

/** Decode an SNP policy word; throws POLICY_INVALID if bit 17 is clear, bits 63:26 are set or it is wider than 64 bits. */
export function decodeSnpPolicy(value: number | bigint): SnpPolicyFields {
  const v = toPolicyBigInt(value, 64, 'SNP');
  const problems: string[] = [];
  const mbz = setBitsIn(v, MBZ_LO, MBZ_HI);
  if (mbz.length > 0) problems.push(`bits 63:26 must be zero (set: bit ${mbz.join(', ')})`);
  const mboMissing = !bitOf(v, SNP_POLICY_BITS.RESERVED_MBO);
  if (mboMissing) problems.push('bit 17 (reserved) must be one');
  if (problems.length > 0) {
    throw new CvmError('POLICY_INVALID', `SNP policy ${formatPolicyHex(v)}: ${problems.join('; ')}`, {
      details: { value: v.toString(), mbzBits: mbz, missingMustBeOne: mboMissing ? [17] : [] },
    });
  }
  return {
    abiMinor: fieldOf(v, 0, 8),
    abiMajor: fieldOf(v, 8, 8),
    smt: bitOf(v, SNP_POLICY_BITS.SMT),
    migrateMa: bitOf(v, SNP_POLICY_BITS.MIGRATE_MA),
    debug: bitOf(v, SNP_POLICY_BITS.DEBUG),
    singleSocket: bitOf(v, SNP_POLICY_BITS.SINGLE_SOCKET),
    cxlAllow: bitOf(v, SNP_POLICY_BITS.CXL_ALLOW),
    memAes256Xts: bitOf(v, SNP_POLICY_BITS.MEM_AES_256_XTS),
    raplDis: bitOf(v, SNP_POLICY_BITS.RAPL_DIS),
    ciphertextHiding: bitOf(v, SNP_POLICY_BITS.CIPHERTEXT_HIDING),
    pageSwapDisable: bitOf(v, SNP_POLICY_BITS.PAGE_SWAP_DISABLE),
  };
}

/** Encode SNP policy fields into a u64 BigInt; bit 17 is always set. */
export function encodeSnpPolicy(fields: Partial<SnpPolicyFields>): bigint {
  const byte = (name: string, x: number | undefined): bigint => {
    const n = x ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 0xff) {
      throw new CvmError('POLICY_INVALID', `SNP policy ${name} must be an integer 0..255, got ${n}`);
    }
    return BigInt(n);
  };
  let v = byte('ABI_MINOR', fields.abiMinor) | (byte('ABI_MAJOR', fields.abiMajor) << 8n);
  const on = (cond: boolean | undefined, bit: number) => {
    if (cond) v |= 1n << BigInt(bit);
  };
  on(fields.smt, SNP_POLICY_BITS.SMT);
  on(true, SNP_POLICY_BITS.RESERVED_MBO);
  on(fields.migrateMa, SNP_POLICY_BITS.MIGRATE_MA);
  on(fields.debug, SNP_POLICY_BITS.DEBUG);
  on(fields.singleSocket, SNP_POLICY_BITS.SINGLE_SOCKET);
  on(fields.cxlAllow, SNP_POLICY_BITS.CXL_ALLOW);
  on(fields.memAes256Xts, SNP_POLICY_BITS.MEM_AES_256_XTS);
  on(fields.raplDis, SNP_POLICY_BITS.RAPL_DIS);
  on(fields.ciphertextHiding, SNP_POLICY_BITS.CIPHERTEXT_HIDING);
  on(fields.pageSwapDisable, SNP_POLICY_BITS.PAGE_SWAP_DISABLE);
  return v;
}

type Text = [string, PolicySeverity];

/** What each defined flag means, set and clear. Exported so docs and tests enumerate the same table. */
export const SNP_FLAG_TEXT: Record<keyof typeof SNP_POLICY_BITS, { set: Text; clear: Text }> = {
  SMT: {
    set: [
      'SMT allowed: the guest may run on a host with simultaneous multithreading enabled, where a sibling thread of another tenant or the hypervisor can observe cross-thread side channels',
      'info',
    ],
    clear: ['SMT disallowed: launch fails unless SMT is disabled on the host', 'ok'],
  },
  RESERVED_MBO: {
    set: ['reserved, must be one', 'info'],
    clear: ['reserved bit is clear: the firmware rejects this policy', 'critical'],
  },
  MIGRATE_MA: {
    // A note, not a warning: the agent is itself an SNP guest the owner attests, and the
    // binding is visible as REPORT_ID_MA in every report; Linux KVM rejects the bit today.
    set: [
      "migration agent allowed: the hypervisor may bind a migration agent (itself an SNP guest) that can export this guest's memory and state to another platform; check REPORT_ID_MA in attestation reports (Linux KVM currently refuses this bit)",
      'info',
    ],
    clear: ['no migration agent: the guest cannot be exported by a migration agent', 'ok'],
  },
  DEBUG: {
    set: [
      'debugging allowed: the hypervisor can decrypt guest memory with SNP_DBG_DECRYPT (and write it with SNP_DBG_ENCRYPT) — never in production',
      'critical',
    ],
    clear: ['debugging disallowed: the firmware refuses SNP_DBG_DECRYPT/SNP_DBG_ENCRYPT for this guest', 'ok'],
  },
  SINGLE_SOCKET: {
    set: ['single socket required: the guest may only be activated on one socket', 'ok'],
    clear: ['the guest may be activated on several sockets', 'info'],
  },
  CXL_ALLOW: {
    set: ["CXL allowed: CXL-attached devices and memory may back guest memory, outside the SoC's memory protection boundary", 'warning'],
    clear: ['CXL disallowed: guest memory cannot be populated from CXL devices or memory', 'ok'],
  },
  MEM_AES_256_XTS: {
    set: ['AES-256-XTS required for guest memory encryption', 'ok'],
    clear: ['the firmware may encrypt guest memory with AES-128-XEX or AES-256-XTS', 'info'],
  },
  RAPL_DIS: {
    set: [
      'RAPL must be disabled on the host: no running-average power-limit readings that could leak guest activity (power side channel)',
      'ok',
    ],
    clear: ['RAPL may be enabled on the host (power side channel possible)', 'info'],
  },
  CIPHERTEXT_HIDING: {
    set: ['ciphertext hiding required: the hypervisor cannot read the ciphertext of guest memory (ciphertext side channels)', 'ok'],
    clear: ['ciphertext hiding may be enabled or disabled; the hypervisor may be able to read guest ciphertext', 'info'],
  },
  PAGE_SWAP_DISABLE: {
    set: ['page move/swap disabled: the firmware refuses SNP_PAGE_MOVE, SNP_SWAP_OUT and SNP_SWAP_IN for this guest', 'ok'],
    clear: ['the hypervisor may move or swap out guest pages with firmware help (SNP_PAGE_MOVE/SWAP_OUT/SWAP_IN)', 'info'],
  },
};

/** Explain every bit and field of an SNP policy word. Throws POLICY_INVALID like `decodeSnpPolicy`. */
export function explainSnpPolicy(value: number | bigint): PolicyExplanation {
  const f = decodeSnpPolicy(value);
  const v = BigInt(value);
  const version = `${f.abiMajor}.${f.abiMinor}`;
  const bits: PolicyBitExplanation[] = [
    {
      bits: '7:0',
      name: 'ABI_MINOR',
      set: f.abiMinor !== 0,
      value: f.abiMinor,
      meaning: `minimum SNP firmware ABI minor version (launch requires firmware >= ${version})`,
      severity: 'info',
    },
    {
      bits: '15:8',
      name: 'ABI_MAJOR',
      set: f.abiMajor !== 0,
      value: f.abiMajor,
      meaning: `minimum SNP firmware ABI major version (launch requires firmware >= ${version})`,
      severity: 'info',
    },
  ];
  for (const [name, bit] of Object.entries(SNP_POLICY_BITS) as [keyof typeof SNP_POLICY_BITS, number][]) {
    const set = bitOf(v, bit);
    const [meaning, severity] = set ? SNP_FLAG_TEXT[name].set : SNP_FLAG_TEXT[name].clear;
    bits.push({ bits: String(bit), name, set, value: set ? 1 : 0, meaning, severity });
  }
  bits.push({
    bits: '63:26',
    name: 'MBZ',
    set: false,
    value: 0,
    meaning: 'reserved, must be zero',
    severity: 'info',
  });
  return {
    kind: 'snp',
    hex: formatPolicyHex(v),
    decimal: v.toString(),
    bits,
    severity: maxSeverity(bits.map((b) => b.severity)),
  };
}
