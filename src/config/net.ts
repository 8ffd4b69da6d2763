/**
 * @module config/net
 * Network device values (`net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1`) with
 * qemu-server 9.2.6's parse_net / print_net semantics: the `<model>=<MAC>` shortcut sets
 * both `model` and `macaddr`, and printing writes it back that way. MAC generation
 * (random_ether_addr) is a separate function taking the random bytes, so parsing stays pure.
 */

import { CvmError } from '../errors.js';
import { parsePropertyString, printPropertyString } from '../schema/index.js';
import { ipconfigFormat } from './options/cloudinit.js';
import { netFormat } from './options/network.js';

export interface Net {
  model: string;
  macaddr?: string;
  bridge?: string;
  queues?: number;
  rate?: number;
  tag?: number;
  trunks?: string;
  firewall?: number;
  link_down?: number;
  mtu?: number;
  'host-tunnel'?: number;
  [k: string]: string | number | undefined;
}

/** parse_net without MAC auto-generation; throws the schema's format error. */
export function parseNet(value: string): Net {
  return parsePropertyString(netFormat, value) as Net;
}

/** print_net: `model=MAC` first (when a MAC is set), then the rest sorted. */
export function printNet(net: Net): string {
  const values: Record<string, string | number> = {};
  for (const [key, val] of Object.entries(net)) if (val !== undefined) values[key] = val;
  return printPropertyString(netFormat, values);
}

/**
 * random_ether_addr: a locally administered unicast MAC from 6 random bytes, optionally
 * with the datacenter's `mac_prefix` (e.g. `BC:24:11`) replacing the leading characters.
 */
export function randomEtherAddr(randomBytes: Uint8Array, prefix?: string): string {
  if (randomBytes.length < 6) throw new CvmError('INTERNAL', 'randomEtherAddr needs 6 random bytes');
  const bytes = Array.from(randomBytes.subarray(0, 6));
  bytes[0] = ((bytes[0] as number) & 0xfe) | 2;
  const addr = bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
  return prefix === undefined ? addr : prefix.toUpperCase() + addr.slice(prefix.length);
}

export interface IpConfig {
  ip?: string;
  gw?: string;
  ip6?: string;
  gw6?: string;
}

/**
 * parse_ipconfig: schema parse plus qemu-server's consistency rules; an empty config
 * means DHCP for both families. Throws with qemu-server's warning texts.
 */
export function parseIpconfig(value: string): IpConfig {
  const res = parsePropertyString(ipconfigFormat, value) as IpConfig;
  const fail = (message: string): never => {
    throw new CvmError('PARAM_INVALID', message, { details: { value } });
  };
  if (res.gw && !res.ip) fail('gateway specified without specifying an IP address');
  if (res.gw6 && !res.ip6) fail('IPv6 gateway specified without specifying an IPv6 address');
  if (res.gw && res.ip === 'dhcp') fail('gateway specified together with DHCP');
  // an IPv6 gateway needs a literal address, not dhcp/auto
  if (res.gw6 && res.ip6 !== undefined && !/^[0-9a-fA-F:]*:[0-9a-fA-F:.]*/.test(res.ip6)) {
    fail(`IPv6 gateway specified together with ${res.ip6} address`);
  }
  if (!res.ip && !res.ip6) return { ip: 'dhcp', ip6: 'dhcp' };
  return res;
}
