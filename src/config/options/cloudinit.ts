/**
 * @module config/options/cloudinit
 * qemu-server 9.2.6's cloud-init keys (`$confdesc_cloudinit`: citype, ciuser, cipassword,
 * ciupgrade, cicustom, searchdomain, nameserver, sshkeys) and the `pve-qm-cicustom`
 * format, and the `ipconfigN` keys with their `pve-qm-ipconfig` format (defined in
 * Network.pm, one per netN).
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';
import { MAX_NETS } from './network.js';

function customFile(description: string): PropertySchema {
  return { type: 'string', optional: true, description, format: 'pve-volume-id', format_description: 'volume' };
}

/** `pve-qm-cicustom`. */
export const cicustomFormat: FormatSchema = {
  meta: customFile(
    'Specify a custom file containing all meta data passed to the VM via' +
      ' cloud-init. This is provider specific meaning configdrive2 and nocloud differ.',
  ),
  network: customFile('To pass a custom file containing all network data to the VM via cloud-init.'),
  user: customFile('To pass a custom file containing all user data to the VM via cloud-init.'),
  vendor: customFile('To pass a custom file containing all vendor data to the VM via cloud-init.'),
};

const hostDnsNote = ' automatically use the setting from the host if neither searchdomain nor nameserver are set.';

/** `pve-qm-ipconfig`: the cloud-init `ipconfigN` format. */
export const ipconfigFormat: FormatSchema = {
  ip: {
    type: 'string',
    format: 'pve-ipv4-config',
    format_description: 'IPv4Format/CIDR',
    description: 'IPv4 address in CIDR format.',
    optional: true,
    default: 'dhcp',
  },
  gw: {
    type: 'string',
    format: 'ipv4',
    format_description: 'GatewayIPv4',
    description: 'Default gateway for IPv4 traffic.',
    optional: true,
    requires: 'ip',
  },
  ip6: {
    type: 'string',
    format: 'pve-ipv6-config',
    format_description: 'IPv6Format/CIDR',
    description: 'IPv6 address in CIDR format.',
    optional: true,
    default: 'dhcp',
  },
  gw6: {
    type: 'string',
    format: 'ipv6',
    format_description: 'GatewayIPv6',
    description: 'Default gateway for IPv6 traffic.',
    optional: true,
    requires: 'ip6',
  },
};

export const ipconfigDesc: PropertySchema = {
  optional: true,
  type: 'string',
  format: 'pve-qm-ipconfig',
  description: `cloud-init: Specify IP addresses and gateways for the corresponding interface.

IP addresses use CIDR notation, gateways are optional but need an IP of the same type specified.

The special string 'dhcp' can be used for IP addresses to use DHCP, in which case no explicit
gateway should be provided.
For IPv6 the special string 'auto' can be used to use stateless autoconfiguration. This requires
cloud-init 19.4 or newer.

If cloud-init is enabled and neither an IPv4 nor an IPv6 address is specified, it defaults to using
dhcp on IPv4.
`,
};

export const cloudinitKeys: Readonly<Record<string, PropertySchema>> = {
  citype: {
    optional: true,
    type: 'string',
    description:
      'Specifies the cloud-init configuration format. The default depends on the' +
      ' configured operating system type (`ostype`. We use the `nocloud` format for Linux,' +
      ' and `configdrive2` for windows.',
    enum: ['configdrive2', 'nocloud', 'opennebula'],
  },
  ciuser: {
    optional: true,
    type: 'string',
    description: "cloud-init: User name to change ssh keys and password for instead of the image's configured default user.",
  },
  cipassword: {
    optional: true,
    type: 'string',
    description:
      'cloud-init: Password to assign the user. Using this is generally not' +
      ' recommended. Use ssh keys instead. Also note that older cloud-init versions do not' +
      ' support hashed passwords.',
  },
  ciupgrade: {
    optional: true,
    type: 'boolean',
    description: 'cloud-init: do an automatic package upgrade after the first boot.',
    default: 1,
  },
  cicustom: {
    optional: true,
    type: 'string',
    description: 'cloud-init: Specify custom files to replace the automatically generated ones at start.',
    format: 'pve-qm-cicustom',
  },
  searchdomain: {
    optional: true,
    type: 'string',
    description: `cloud-init: Sets DNS search domains for a container. Create will${hostDnsNote}`,
  },
  nameserver: {
    optional: true,
    type: 'string',
    format: 'address-list',
    description: `cloud-init: Sets DNS server IP address for a container. Create will${hostDnsNote}`,
  },
  sshkeys: {
    optional: true,
    type: 'string',
    format: 'urlencoded',
    description: 'cloud-init: Setup public SSH keys (one key per line, OpenSSH format).',
  },
};

/** ipconfig0 … ipconfig31. */
export function ipconfigKeys(): Record<string, PropertySchema> {
  const keys: Record<string, PropertySchema> = {};
  for (let i = 0; i < MAX_NETS; i++) keys[`ipconfig${i}`] = ipconfigDesc;
  return keys;
}

export const cloudinitFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qm-cicustom': cicustomFormat,
  'pve-qm-ipconfig': ipconfigFormat,
};
