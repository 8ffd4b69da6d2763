/**
 * @module config/options/network
 * qemu-server 9.2.6's network formats (QemuServer/Network.pm): the `netN` format with its
 * `<model>=<MAC>` shortcut (every NIC model is an alias of `macaddr` whose key names the
 * model), and the key schemas for net0…net31. (`ipconfigN`, also from Network.pm, is with
 * the cloud-init options.)
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';

export const MAX_NETS = 32;

/** NIC models qemu-server accepts (`model` enum, also the alias keys). */
export const nicModels: readonly string[] = [
  'e1000',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'e1000e',
  'i82551',
  'i82557b',
  'i82559er',
  'ne2k_isa',
  'ne2k_pci',
  'pcnet',
  'rtl8139',
  'virtio',
  'vmxnet3',
];

const bridgeDescription = `Bridge to attach the network device to. The Proxmox VE standard bridge
is called 'vmbr0'.

If you do not specify a bridge, we create a kvm user (NATed) network
device, which provides DHCP and DNS services. The following addresses
are used:

 10.0.2.2   Gateway
 10.0.2.3   DNS Server
 10.0.2.4   SMB Server

The DHCP server assign addresses to the guest starting from 10.0.2.15.
`;

const modelAliases: Record<string, PropertySchema> = Object.fromEntries(
  nicModels.map((model) => [model, { type: 'string', keyAlias: 'model', alias: 'macaddr' } satisfies PropertySchema]),
);

/** The `netN` format (`pve-qm-net`). */
export const netFormat: FormatSchema = {
  macaddr: {
    // standard option `mac-addr`, description overridden
    type: 'string',
    description: 'MAC address. That address must be unique within your network. This is automatically generated if not specified.',
    verbose_description: 'A common MAC address with the I/G (Individual/Group) bit not set.',
    format_description: 'XX:XX:XX:XX:XX:XX',
    optional: true,
    format: 'mac-addr',
  },
  model: {
    type: 'string',
    description:
      "Network Card Model. The 'virtio' model provides the best performance with very low CPU overhead." +
      " If your guest does not support this driver, it is usually best to use 'e1000'.",
    enum: nicModels,
    default_key: true,
  },
  ...modelAliases,
  bridge: {
    // standard option `pve-bridge-id`, description overridden
    description: bridgeDescription,
    type: 'string',
    format: 'pve-bridge-id',
    format_description: 'bridge',
    optional: true,
  },
  queues: { type: 'integer', minimum: 0, maximum: 64, description: 'Number of packet queues to be used on the device.', optional: true },
  rate: { type: 'number', minimum: 0, description: 'Rate limit in mbps (megabytes per second) as floating point number.', optional: true },
  tag: { type: 'integer', minimum: 1, maximum: 4094, description: 'VLAN tag to apply to packets on this interface.', optional: true },
  trunks: {
    type: 'string',
    pattern: '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*',
    description: 'VLAN trunks to pass through this interface.',
    format_description: 'vlanid[;vlanid...]',
    optional: true,
  },
  firewall: { type: 'boolean', description: 'Whether this interface should be protected by the firewall.', optional: true },
  link_down: { type: 'boolean', description: 'Whether this interface should be disconnected (like pulling the plug).', optional: true },
  mtu: {
    type: 'integer',
    minimum: 1,
    maximum: 65520,
    description: "Force MTU of network device (VirtIO only). Setting to '1' or empty will use the bridge MTU",
    optional: true,
  },
  'host-tunnel': {
    type: 'boolean',
    description: 'Enable host GSO over UDP tunnel offload. (VirtIO only).',
    verbose_description:
      'Enable host GSO over UDP tunnel offload (VirtIO only). Requires QEMU > 10.2 and guest' +
      ' and host kernel support. Disabled by default starting with machine version' +
      ' 11.0+pve1 to work around an issue with the virtio-net driver in guest kernels. With' +
      ' machine versions 10.2 and 11.0, this is enabled by default.',
    optional: true,
  },
};

export const netDesc: PropertySchema = {
  optional: true,
  type: 'string',
  format: netFormat,
  description: 'Specify network devices.',
};

export function networkKeys(): Record<string, PropertySchema> {
  const keys: Record<string, PropertySchema> = {};
  for (let i = 0; i < MAX_NETS; i++) {
    keys[`net${i}`] = netDesc;
  }
  keys['running-nets-host-mtu'] = {
    type: 'string',
    pattern: 'net\\d+=\\d+(,net\\d+=\\d+)*',
    optional: true,
    description:
      'List of VirtIO network devices and their effective host_mtu setting. A value of 0' +
      ' means that the host_mtu parameter is to be avoided for the corresponding device.' +
      ' This is used internally for snapshots.',
  };
  return keys;
}

export const networkFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qm-net': netFormat,
};
