/**
 * @module cloudinit/network
 * The network files of the cloud-init formats, as qemu-server writes them for each `netN` that
 * has an `ipconfigN` (in `netN` string order): nocloud's network-config version 1 (nocloud_network,
 * interfaces matched by MAC address, named ethN, and a nameserver entry that is always there),
 * configdrive2's Debian-interfaces file (configdrive2_network) and the Windows/cloudbase-init
 * variant (cloudbase_network_eni). An `ipconfigN` that fails qemu-server's consistency rules is
 * reported as a warning and contributes no addresses, as in qemu-server. Pure.
 */

import type { ConfigSection } from '../config/types.js';
import { type IpConfig, parseIpconfig, parseNet } from '../config/net.js';
import { CvmError } from '../errors.js';
import { dnsConf, type HostResolv } from './userdata.js';
import { yamlSingleQuoted } from './quote.js';

export interface NetworkInputs {
  host: HostResolv;
  /** Receives qemu-server's warnings (an unusable ipconfigN). */
  warn: (message: string) => void;
}

export interface Iface {
  /** The N of netN/ipconfigN. */
  id: string;
  key: string;
  /** The netN value's MAC address (lower case), if any. */
  mac: string | undefined;
  mtu: number | undefined;
  ipconfig: IpConfig;
}

/** The `netN` keys with an `ipconfigN`, sorted as Perl's `sort` does (`net10` before `net2`). */
export function ipconfigIfaces(conf: ConfigSection, inputs: Pick<NetworkInputs, 'warn'>): Iface[] {
  const keys = Object.keys(conf)
    .filter((k) => /^net\d+$/.test(k))
    .sort();
  const out: Iface[] = [];
  for (const key of keys) {
    const id = key.slice(3);
    const ipconfigValue = conf[`ipconfig${id}`];
    if (!ipconfigValue) continue;
    let ipconfig: IpConfig = {};
    try {
      ipconfig = parseIpconfig(ipconfigValue);
    } catch (err) {
      inputs.warn(`ipconfig${id}: ${(err as Error).message}`);
    }
    const net = parseNet(conf[key] as string);
    out.push({ id, key, mac: net.macaddr?.toLowerCase(), mtu: net.mtu, ipconfig });
  }
  return out;
}

/** $PVE::Network::ipv4_reverse_mask: prefix length → dotted netmask. */
export function ipv4Netmask(prefix: number): string {
  const bits = prefix <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefix, 32))) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/** split_ip4: `addr/prefix` → address and dotted netmask. */
export function splitIp4(ip: string): { addr: string; mask: string } {
  const [addr, prefix] = ip.split('/');
  if (prefix === undefined) throw new CvmError('PARAM_INVALID', `not a CIDR: ${ip}`);
  return { addr: addr as string, mask: ipv4Netmask(Number(prefix)) };
}

/** nocloud_network: network-config version 1. */
export function nocloudNetwork(conf: ConfigSection, inputs: NetworkInputs): string {
  let out = 'version: 1\nconfig:\n';
  for (const iface of ipconfigIfaces(conf, inputs)) {
    if (!iface.mac) throw new CvmError('PARAM_INVALID', `network interface '${iface.key}' has no mac address`);
    const i = '    ';
    out += `${i}- type: physical\n${i}  name: eth${iface.id}\n${i}  mac_address: ${yamlSingleQuoted(iface.mac)}\n${i}  subnets:\n`;
    const j = `${i}  `;
    const { ip, gw, ip6, gw6 } = iface.ipconfig;
    if (ip !== undefined) {
      if (ip === 'dhcp') out += `${j}- type: dhcp4\n`;
      else {
        const { addr, mask } = splitIp4(ip);
        out += `${j}- type: static\n${j}  address: ${yamlSingleQuoted(addr)}\n${j}  netmask: ${yamlSingleQuoted(mask)}\n`;
        if (gw !== undefined) out += `${j}  gateway: ${yamlSingleQuoted(gw)}\n`;
      }
    }
    if (ip6 !== undefined) {
      if (ip6 === 'dhcp') out += `${j}- type: dhcp6\n`;
      else if (ip6 === 'auto') out += `${j}- type: ipv6_slaac\n`;
      else {
        out += `${j}- type: static6\n${j}  address: ${yamlSingleQuoted(ip6)}\n`;
        if (gw6 !== undefined) out += `${j}  gateway: ${yamlSingleQuoted(gw6)}\n`;
      }
    }
  }
  const { searchdomains, nameservers } = dnsConf(conf, inputs.host);
  // qemu-server tests two array references here, which are always true: the entry is always written
  out += '    - type: nameserver\n';
  if (nameservers.length > 0) out += `      address:\n${nameservers.map((n) => `      - ${yamlSingleQuoted(n)}\n`).join('')}`;
  if (searchdomains.length > 0) out += `      search:\n${searchdomains.map((s) => `      - ${yamlSingleQuoted(s)}\n`).join('')}`;
  return out;
}

/** The `iface` stanzas configdrive2 and cloudbase-init share; `dnsLine` follows each static address. */
function eniIfaces(conf: ConfigSection, inputs: NetworkInputs, dnsLine: string): string {
  let out = '';
  for (const iface of ipconfigIfaces(conf, inputs)) {
    const id = `eth${iface.id}`;
    const { ip, gw, ip6, gw6 } = iface.ipconfig;
    out += `auto ${id}\n`;
    if (ip) {
      if (ip === 'dhcp') out += `iface ${id} inet dhcp\n`;
      else {
        const { addr, mask } = splitIp4(ip);
        out += `iface ${id} inet static\n        address ${addr}\n        netmask ${mask}\n`;
        if (gw) out += `        gateway ${gw}\n`;
        out += dnsLine;
      }
    }
    if (ip6) {
      if (ip6 === 'auto' || ip6 === 'dhcp') out += `iface ${id} inet6 ${ip6}\n`;
      else {
        const [addr, mask] = ip6.split('/');
        out += `iface ${id} inet6 static\n        address ${addr}\n        netmask ${mask ?? ''}\n`;
        if (gw6) out += `        gateway ${gw6}\n`;
        out += dnsLine;
      }
    }
  }
  return out;
}

/** configdrive2_network: /openstack/content/0000 for Linux guests. */
export function configdrive2Network(conf: ConfigSection, inputs: NetworkInputs): string {
  let out = 'auto lo\niface lo inet loopback\n\n';
  const { searchdomains, nameservers } = dnsConf(conf, inputs.host);
  if (nameservers.length > 0) out += `        dns_nameservers ${nameservers.join(' ')}\n`;
  if (searchdomains.length > 0) out += `        dns_search ${searchdomains.join(' ')}\n`;
  return out + eniIfaces(conf, inputs, '');
}

/**
 * cloudbase_network_eni: /openstack/content/0000 for Windows guests (cloudbase-init), with a
 * `dns-nameservers` line after each static address. (qemu-server writes the text of an empty
 * Perl array reference there when no nameserver is known; cvmctl writes no line then.)
 */
export function cloudbaseNetworkEni(conf: ConfigSection, inputs: NetworkInputs): string {
  const { nameservers } = dnsConf(conf, inputs.host);
  const dnsLine = nameservers.length > 0 ? `        dns-nameservers ${nameservers.join(' ')}\n` : '';
  return eniIfaces(conf, inputs, dnsLine);
}
