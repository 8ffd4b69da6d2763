/**
 * @module sev/policy/sev
 * Codec for the SEV / SEV-ES guest policy, a u32 handed to LAUNCH_START (AMD SEV API
 * pub. 55766 §3): bit 0 NODBG, 1 NOKS, 2 ES, 3 NOSEND, 4 DOMAIN, 5 SEV, 15:6 reserved,
 * 23:16 API_MAJOR and 31:24 API_MINOR (the minor is the *high* byte). Decoding rejects
 * reserved bits; `explain` says, bit by bit, what the word allows the hypervisor to do.
 */
import { CvmError } from '../../errors.js';
import { type PolicyBitExplanation, type PolicyExplanation, type SevPolicyFields, formatPolicyHex, maxSeverity } from './types.js';
import { bitOf, fieldOf, setBitsIn, toPolicyBigInt } from './value.js';

export const SEV_POLICY_BITS = {
  NODBG: 0,
  NOKS: 1,
  ES: 2,
  NOSEND: 3,
  DOMAIN: 4,
  SEV: 5,
} as const;

const RESERVED_LO = 6;
const RESERVED_HI = 15;

function checkByte(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new CvmError('POLICY_INVALID', `SEV policy ${name} must be an integer 0..255, got ${v}`);
  }
  return v;
}

/** Decode a SEV/SEV-ES policy word; throws POLICY_INVALID for reserved bits 15:6 or a value wider than 32 bits. */
export function decodeSevPolicy(value: number | bigint): SevPolicyFields {
  const v = toPolicyBigInt(value, 32, 'SEV');
  const reserved = setBitsIn(v, RESERVED_LO, RESERVED_HI);
  if (reserved.length > 0) {
    throw new CvmError(
      'POLICY_INVALID',
      `SEV policy ${formatPolicyHex(v)}: reserved bits 15:6 must be zero (set: bit ${reserved.join(', ')})`,
      { details: { value: v.toString(), reservedBits: reserved } },
    );
  }
  return {
    noDebug: bitOf(v, SEV_POLICY_BITS.NODBG),
    noKeySharing: bitOf(v, SEV_POLICY_BITS.NOKS),
    es: bitOf(v, SEV_POLICY_BITS.ES),
    noSend: bitOf(v, SEV_POLICY_BITS.NOSEND),
    domain: bitOf(v, SEV_POLICY_BITS.DOMAIN),
    sev: bitOf(v, SEV_POLICY_BITS.SEV),
    apiMajor: fieldOf(v, 16, 8),
    apiMinor: fieldOf(v, 24, 8),
  };
}

/** Encode SEV/SEV-ES policy fields (missing flags are clear, missing versions 0) into a u32 number. */
export function encodeSevPolicy(fields: Partial<SevPolicyFields>): number {
  let v = 0;
  if (fields.noDebug) v |= 1 << SEV_POLICY_BITS.NODBG;
  if (fields.noKeySharing) v |= 1 << SEV_POLICY_BITS.NOKS;
  if (fields.es) v |= 1 << SEV_POLICY_BITS.ES;
  if (fields.noSend) v |= 1 << SEV_POLICY_BITS.NOSEND;
  if (fields.domain) v |= 1 << SEV_POLICY_BITS.DOMAIN;
  if (fields.sev) v |= 1 << SEV_POLICY_BITS.SEV;
  v += checkByte('API_MAJOR', fields.apiMajor ?? 0) * 0x10000;
  v += checkByte('API_MINOR', fields.apiMinor ?? 0) * 0x1000000;
  return v >>> 0;
}

function flag(
  bit: number,
  name: string,
  set: boolean,
  whenSet: [string, PolicyBitExplanation['severity']],
  whenClear: [string, PolicyBitExplanation['severity']],
): PolicyBitExplanation {
  const [meaning, severity] = set ? whenSet : whenClear;
  return { bits: String(bit), name, set, value: set ? 1 : 0, meaning, severity };
}

/** Explain every bit of a SEV/SEV-ES policy word. Throws POLICY_INVALID like `decodeSevPolicy`. */
export function explainSevPolicy(value: number | bigint): PolicyExplanation {
  const f = decodeSevPolicy(value);
  const v = BigInt(value);
  const canLeave = !f.noSend;
  const bits: PolicyBitExplanation[] = [
    flag(
      0,
      'NODBG',
      f.noDebug,
      ['debugging disallowed: the firmware refuses DBG_DECRYPT/DBG_ENCRYPT for this guest', 'ok'],
      [
        'debugging allowed: the hypervisor can decrypt and modify guest memory with DBG_DECRYPT/DBG_ENCRYPT — never in production',
        'critical',
      ],
    ),
    flag(
      1,
      'NOKS',
      f.noKeySharing,
      ["key sharing disallowed: no other guest can be launched with this guest's memory encryption key", 'ok'],
      [
        "key sharing allowed: the hypervisor may launch another guest that shares this guest's memory encryption key (and can read its memory)",
        'warning',
      ],
    ),
    flag(
      2,
      'ES',
      f.es,
      ['SEV-ES required: CPU register state is encrypted in the VMSA and hidden from the hypervisor', 'ok'],
      ['plain SEV: CPU register state is visible to and modifiable by the hypervisor on every VM exit', 'warning'],
    ),
    flag(
      3,
      'NOSEND',
      f.noSend,
      ['sending disallowed: the firmware refuses SEND_START, so the guest cannot be exported (migrated) to another platform', 'ok'],
      [
        'sending allowed: the hypervisor may export the encrypted guest with SEND_* to another platform it chooses (SEV migration attack surface)',
        'warning',
      ],
    ),
    flag(
      4,
      'DOMAIN',
      f.domain,
      ['may only be sent to platforms in the same domain (same platform owner certificate, OCA)', 'ok'],
      canLeave
        ? ["may be sent to a platform outside this owner's domain", 'warning']
        : ['no domain restriction (irrelevant while NOSEND is set)', 'info'],
    ),
    flag(
      5,
      'SEV',
      f.sev,
      ['may only be sent to SEV-capable platforms', 'ok'],
      canLeave
        ? ['may be sent to a platform without SEV, where it would run unencrypted', 'warning']
        : ['no SEV-platform restriction (irrelevant while NOSEND is set)', 'info'],
    ),
    {
      bits: '15:6',
      name: 'RESERVED',
      set: false,
      value: 0,
      meaning: 'reserved, must be zero',
      severity: 'info',
    },
    {
      bits: '23:16',
      name: 'API_MAJOR',
      set: f.apiMajor !== 0,
      value: f.apiMajor,
      meaning:
        f.apiMajor === 0
          ? 'no minimum firmware API major version for platforms the guest is sent to'
          : `may only be sent to platforms whose SEV firmware API major version is >= ${f.apiMajor}`,
      severity: 'info',
    },
    {
      bits: '31:24',
      name: 'API_MINOR',
      set: f.apiMinor !== 0,
      value: f.apiMinor,
      meaning:
        f.apiMinor === 0
          ? 'no minimum firmware API minor version for platforms the guest is sent to'
          : `may only be sent to platforms whose SEV firmware API minor version is >= ${f.apiMinor}`,
      severity: 'info',
    },
  ];
  return {
    kind: 'sev',
    hex: formatPolicyHex(v),
    decimal: v.toString(),
    bits,
    severity: maxSeverity(bits.map((b) => b.severity)),
  };
}
