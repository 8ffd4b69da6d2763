/**
 * @module schema/formats/network
 * Named string formats for network values (pve-common JSONSchema.pm): MAC, IP, CIDR, netmask,
 * DNS names, addresses, interface and bridge names, VLAN ranges and bridge pairs. Each verifier
 * returns PVE's error text (without the trailing newline) or undefined when the value is valid.
 */
import type { FormatVerifier } from '../types.js';
import { isCidrV4, isCidrV6, isIpv4, isIpv4Netmask, isIpv6 } from './ip.js';
import { verifyIdMapEntry } from './ids.js';

const UNICAST_MAC = /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}\n?$/i;
const DNS_LABEL = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)';
const DNS_NAME = new RegExp(`^(?:${DNS_LABEL}\\.)*${DNS_LABEL}\\n?$`);
const BRIDGE_ID = /^[-_.\w\d]+\n?$/;
const IFACE = /^[a-z][a-z0-9_]{1,20}(?:[:.]\d+)?\n?$/i;
const VLAN = /^(\d+)(?:-(\d+))?\n?$/;

export const verifyMacAddr: FormatVerifier = (v) =>
  UNICAST_MAC.test(v) ? undefined : 'value does not look like a valid unicast MAC address';

export const verifyIpv4: FormatVerifier = (v) => (isIpv4(v) ? undefined : 'value does not look like a valid IPv4 address');

export const verifyIpv6: FormatVerifier = (v) => (isIpv6(v) ? undefined : 'value does not look like a valid IPv6 address');

export const verifyIp: FormatVerifier = (v) => (isIpv4(v) || isIpv6(v) ? undefined : 'value does not look like a valid IP address');

export const verifyIpv4Mask: FormatVerifier = (v) => (isIpv4Netmask(v) ? undefined : 'value does not look like a valid IP netmask');

export const verifyCidrV4: FormatVerifier = (v) => (isCidrV4(v) ? undefined : 'value does not look like a valid IPv4 CIDR network');

export const verifyCidrV6: FormatVerifier = (v) => (isCidrV6(v) ? undefined : 'value does not look like a valid IPv6 CIDR network');

export const verifyCidr: FormatVerifier = (v) => (isCidrV4(v) || isCidrV6(v) ? undefined : 'value does not look like a valid CIDR network');

export const verifyIpv4Config: FormatVerifier = (v) =>
  /^(?:dhcp|manual)\n?$/.test(v) || isCidrV4(v) ? undefined : 'value does not look like a valid ipv4 network configuration';

export const verifyIpv6Config: FormatVerifier = (v) =>
  /^(?:auto|dhcp|manual)\n?$/.test(v) || isCidrV6(v) ? undefined : 'value does not look like a valid ipv6 network configuration';

export function isDnsName(v: string): boolean {
  return DNS_NAME.test(v);
}

export const verifyDnsName: FormatVerifier = (v) => (isDnsName(v) ? undefined : 'value does not look like a valid DNS name');

/** PVE combines the sub-verifiers with `||` on their return value, so the (valid) name "0" fails. */
export const verifyAddress: FormatVerifier = (v) =>
  v !== '0' && (isIpv4(v) || isIpv6(v) || isDnsName(v)) ? undefined : `value does not look like a valid address: ${v}`;

export const verifyBridgeId: FormatVerifier = (v) => (BRIDGE_ID.test(v) ? undefined : `invalid bridge ID '${v}'`);

export const verifyIface: FormatVerifier = (v) => (IFACE.test(v) ? undefined : `invalid network interface name '${v}'`);

export const verifyVlanIdOrRange: FormatVerifier = (v) => {
  const match = VLAN.exec(v);
  if (!match) return `invalid VLAN configuration '${v}'`;
  const start = match[1] as string;
  const end = match[2];
  const invalidTag = (tag: string): boolean => Number(tag) < 2 || Number(tag) > 4094;
  if (invalidTag(start)) return `invalid VLAN tag '${start}'`;
  // Perl `if ($end)`: an end of "0" counts as absent.
  if (end !== undefined && end !== '0') {
    if (invalidTag(end)) return `invalid VLAN tag '${end}'`;
    if (Number(start) >= Number(end)) return `VLAN range must go from lower to higher tag '${v}'`;
  }
  return undefined;
};

export const verifyBridgePair: FormatVerifier = (v) => verifyIdMapEntry(v, verifyBridgeId);

export const NETWORK_FORMATS: Readonly<Record<string, FormatVerifier>> = {
  'mac-addr': verifyMacAddr,
  ipv4: verifyIpv4,
  ipv6: verifyIpv6,
  ip: verifyIp,
  ipv4mask: verifyIpv4Mask,
  CIDRv4: verifyCidrV4,
  CIDRv6: verifyCidrV6,
  CIDR: verifyCidr,
  'pve-ipv4-config': verifyIpv4Config,
  'pve-ipv6-config': verifyIpv6Config,
  'dns-name': verifyDnsName,
  address: verifyAddress,
  'pve-bridge-id': verifyBridgeId,
  'pve-iface': verifyIface,
  'pve-vlan-id-or-range': verifyVlanIdOrRange,
  'bridge-pair': verifyBridgePair,
};
