/**
 * @module sev/policy/value
 * Turning user input into a policy number and checking its width. Policy words arrive as
 * `0x…` hex or decimal text (CLI, config, attestation reports); everything is handled as
 * BigInt so an SNP word above 2^53 never loses bits.
 */
import { CvmError } from '../../errors.js';

function badValue(text: string, why: string): CvmError {
  return new CvmError('PARAM_INVALID', `policy value '${text}' ${why} - use hex (0x30000) or decimal (196608)`, {
    details: { value: text },
  });
}

/**
 * Parse `0x…` (hex) or decimal text into a non-negative BigInt. A decimal with leading zeros
 * is refused: `00030000` is octal to C's strtoul and a hex word with its `0x` lost to a human
 * copying libvirt's `0x00030000`, so reading it as decimal 30000 would silently pick another policy.
 */
export function parsePolicyValue(text: string): bigint {
  const t = text.trim();
  if (t === '') throw badValue(text, 'is empty');
  if (/^-/.test(t)) throw badValue(text, 'is negative (a policy word is unsigned)');
  if (/^0[xX]$/.test(t)) throw badValue(text, "has no hex digits after '0x'");
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return BigInt(t);
  if (/^0[0-9]+$/.test(t)) {
    throw badValue(text, 'has leading zeros (ambiguous: octal in C, hex with a lost 0x, or decimal)');
  }
  if (/^[0-9]+$/.test(t)) return BigInt(t);
  throw badValue(text, 'is not a number');
}

/** Normalise number | bigint to BigInt, rejecting negatives, fractions and words wider than `bits`. */
export function toPolicyBigInt(value: number | bigint, bits: 32 | 64, label: string): bigint {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    // 2**60 + 1 === 2**60 as a number: the low bits may already be gone, so refuse to guess
    throw new CvmError(
      'POLICY_INVALID',
      `${label} policy ${value} is beyond 2^53 as a JavaScript number and may have lost bits; pass a BigInt or the text`,
      { details: { value } },
    );
  }
  if (typeof value === 'number' && (!Number.isInteger(value) || value < 0)) {
    throw new CvmError('POLICY_INVALID', `${label} policy ${value} is not a non-negative integer`, {
      details: { value },
    });
  }
  const big = BigInt(value);
  if (big < 0n) {
    throw new CvmError('POLICY_INVALID', `${label} policy ${big} is negative (a policy word is unsigned)`, {
      details: { value: big.toString() },
    });
  }
  if (big >> BigInt(bits) !== 0n) {
    throw new CvmError('POLICY_INVALID', `${label} policy 0x${big.toString(16)} does not fit in ${bits} bits`, {
      details: { value: big.toString() },
    });
  }
  return big;
}

/** Positions (ascending) of the set bits of `value` inside the inclusive range [lo, hi]. */
export function setBitsIn(value: bigint, lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let b = lo; b <= hi; b++) if ((value >> BigInt(b)) & 1n) out.push(b);
  return out;
}

export function bitOf(value: bigint, bit: number): boolean {
  return ((value >> BigInt(bit)) & 1n) === 1n;
}

export function fieldOf(value: bigint, lo: number, width: number): number {
  return Number((value >> BigInt(lo)) & ((1n << BigInt(width)) - 1n));
}
