/**
 * @module sev/policy/value
 * Turning user input into a policy number and checking its width. Policy words arrive as
 * `0x…` hex or decimal text (CLI, config, attestation reports); everything is handled as
 * BigInt so an SNP word above 2^53 never loses bits.
 */
import { CvmError } from '../../errors.js';

/** Parse `0x…` (hex) or decimal text into a non-negative BigInt. */
export function parsePolicyValue(text: string): bigint {
  const t = text.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return BigInt(t);
  if (/^[0-9]+$/.test(t)) return BigInt(t);
  throw new CvmError(
    'PARAM_INVALID',
    `policy value '${text}' is not a number - use hex (0x30000) or decimal (196608)`,
    { details: { value: text } },
  );
}

/** Normalise number | bigint to BigInt, rejecting negatives, fractions and words wider than `bits`. */
export function toPolicyBigInt(value: number | bigint, bits: 32 | 64, label: string): bigint {
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) {
    throw new CvmError('POLICY_INVALID', `${label} policy ${value} is not a non-negative integer`, {
      details: { value },
    });
  }
  const big = BigInt(value);
  if (big < 0n || big >> BigInt(bits) !== 0n) {
    throw new CvmError(
      'POLICY_INVALID',
      `${label} policy 0x${big.toString(16)} does not fit in ${bits} bits`,
      { details: { value: big.toString() } },
    );
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
