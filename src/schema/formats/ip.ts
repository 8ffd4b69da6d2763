/**
 * @module schema/formats/ip
 * IPv4/IPv6 address grammars (RFC 3986 `IPv4address` / `IPv6address`, as PVE's $IPV4RE/$IPV6RE
 * accept them) and the netmask table, shared by the network verifiers.
 */

const OCTET = '(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])';
export const IPV4_SOURCE = `(?:(?:${OCTET}\\.){3}${OCTET})`;

const H16 = '(?:[0-9a-fA-F]{1,4})';
const LS32 = `(?:${IPV4_SOURCE}|${H16}:${H16})`;

/** `n` repetitions of "h16:" (exactly n, or up to n when `upTo`). */
function groups(n: number, upTo = false): string {
  return `(?:${H16}:){${upTo ? '0,' : ''}${n}}`;
}

/** "[ *k( h16 ":" ) h16 ]" — the optional head before "::". */
function head(k: number): string {
  return k === 0 ? `(?:${H16})?` : `(?:${groups(k, true)}${H16})?`;
}

export const IPV6_SOURCE = `(?:${[
  `${groups(6)}${LS32}`,
  `::${groups(5)}${LS32}`,
  `${head(0)}::${groups(4)}${LS32}`,
  `${head(1)}::${groups(3)}${LS32}`,
  `${head(2)}::${groups(2)}${LS32}`,
  `${head(3)}::${groups(1)}${LS32}`,
  `${head(4)}::${LS32}`,
  `${head(5)}::${H16}`,
  `${head(6)}::`,
]
  .map((alternative) => `(?:${alternative})`)
  .join('|')})`;

const IPV4_FULL = new RegExp(`^${IPV4_SOURCE}\\n?$`);
const IPV6_FULL = new RegExp(`^${IPV6_SOURCE}\\n?$`);
const CIDR4 = new RegExp(`^${IPV4_SOURCE}/(\\d+)\\n?$`);
const CIDR6 = new RegExp(`^${IPV6_SOURCE}/(\\d+)\\n?$`);

export function isIpv4(text: string): boolean {
  return IPV4_FULL.test(text);
}

export function isIpv6(text: string): boolean {
  return IPV6_FULL.test(text);
}

/** CIDR with prefix length in (7, max]: PVE rejects /0–/7 networks. */
function isCidr(re: RegExp, text: string, maxBits: number): boolean {
  const match = re.exec(text);
  if (!match) return false;
  const bits = Number(match[1]);
  return bits > 7 && bits <= maxBits;
}

export function isCidrV4(text: string): boolean {
  return isCidr(CIDR4, text, 32);
}

export function isCidrV6(text: string): boolean {
  return isCidr(CIDR6, text, 128);
}

/** Dotted-quad netmasks with contiguous leading ones, /0 to /32. */
export function isIpv4Netmask(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  let bits = '';
  for (const part of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part)) return false;
    const value = Number(part);
    if (value > 255) return false;
    bits += value.toString(2).padStart(8, '0');
  }
  return /^1*0*$/.test(bits);
}
