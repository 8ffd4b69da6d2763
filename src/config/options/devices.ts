/**
 * @module config/options/devices
 * Pass-through and auxiliary device options of qemu-server 9.2.6: `hostpciN`
 * (PCI.pm, `pve-qm-hostpci`), `usbN` (USB.pm, `pve-qm-usb`), `serialN`, `parallelN`,
 * `ivshmem`, `virtiofsN` (Virtiofs.pm, `pve-qm-virtiofs`) and `rng0` (RNG.pm,
 * `pve-qm-rng`), with the per-kind maximum counts.
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';

/** The `mapping` key hostpci and usb share (a cluster-wide resource mapping). */
const mappingKey: PropertySchema = {
  optional: true,
  type: 'string',
  format_description: 'mapping-id',
  format: 'pve-configid',
  description: "The ID of a cluster wide mapping. Either this or the default-key 'host' must be set.",
};

/**
 * One entry of a cluster resource mapping's `map` list (PVE::Mapping::PCI / USB / Dir, e.g.
 * `node=pve1,path=0000:01:00.0,id=10de:2231`), as the generator reads host facts: the keys it
 * looks at; other keys are kept as read.
 */
export const mappingEntryFormat: FormatSchema = {
  node: { type: 'string', format: 'pve-node', description: 'The cluster node name.' },
  path: { type: 'string', optional: true, description: 'The path of the device or directory on this node.' },
  id: { type: 'string', optional: true, description: 'The vendor and device ID.' },
};

export const MAX_HOSTPCI_DEVICES = 16;
export const MAX_USB_DEVICES = 14;
export const MAX_SERIAL_PORTS = 4;
export const MAX_PARALLEL_PORTS = 3;
export const MAX_VIRTIOFS = 10;

const pciRe = '(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?';
const hexId = '0x[0-9a-fA-F]{4}';

function hexIdProperty(description: string): PropertySchema {
  return { type: 'string', pattern: hexId, format_description: 'hex id', optional: true, description };
}

/** `pve-qm-hostpci`. */
export const hostpciFormat: FormatSchema = {
  host: {
    default_key: true,
    optional: true,
    type: 'string',
    pattern: `${pciRe}(;${pciRe})*`,
    format_description: 'HOSTPCIID[;HOSTPCIID2...]',
    description: `Host PCI device pass through. The PCI ID of a host's PCI device or a list
of PCI virtual functions of the host. HOSTPCIID syntax is:

'bus:dev.func' (hexadecimal numbers)

You can use the 'lspci' command to list existing PCI devices.

Either this or the 'mapping' key must be set.
`,
  },
  mapping: mappingKey,
  rombar: {
    type: 'boolean',
    description: "Specify whether or not the device's ROM will be visible in the guest's memory map.",
    optional: true,
    default: 1,
  },
  romfile: {
    type: 'string',
    pattern: '[^,;]+',
    format_description: 'string',
    description: 'Custom pci device rom filename (must be located in /usr/share/kvm/).',
    optional: true,
  },
  pcie: { type: 'boolean', description: "Choose the PCI-express bus (needs the 'q35' machine model).", optional: true, default: 0 },
  'x-vga': { type: 'boolean', description: 'Enable vfio-vga device support.', optional: true, default: 0 },
  'legacy-igd': {
    type: 'boolean',
    description:
      'Pass this device in legacy IGD mode, making it the primary and exclusive graphics device in the VM.' +
      " Requires 'pc-i440fx' machine type and VGA set to 'none'.",
    optional: true,
    default: 0,
  },
  mdev: {
    type: 'string',
    format_description: 'string',
    pattern: '[^/\\.:]+',
    optional: true,
    description: `The type of mediated device to use.
An instance of this type will be created on startup of the VM and
will be cleaned up when the VM stops.
`,
  },
  'vendor-id': hexIdProperty('Override PCI vendor ID visible to guest'),
  'device-id': hexIdProperty('Override PCI device ID visible to guest'),
  'sub-vendor-id': hexIdProperty('Override PCI subsystem vendor ID visible to guest'),
  'sub-device-id': hexIdProperty('Override PCI subsystem device ID visible to guest'),
  driver: {
    type: 'string',
    optional: true,
    default: 'vfio',
    enum: ['vfio', 'keep'],
    description:
      "If set to 'keep' the device will neither be reset nor bound to the " +
      "'vfio-pci' driver. Useful for devices that already have the correct driver loaded.",
  },
};

const hostpciDesc: PropertySchema = {
  optional: true,
  type: 'string',
  format: 'pve-qm-hostpci',
  description: 'Map host PCI devices into guest.',
  verbose_description: `Map host PCI devices into guest.

NOTE: This option allows direct access to host hardware. So it is no longer
possible to migrate such machines - use with special care.

CAUTION: Experimental! User reported problems with this option.
`,
};

const usbIdRe = '(0x)?([0-9A-Fa-f]{4}):(0x)?([0-9A-Fa-f]{4})';
const usbPathRe = '(\\d+)\\-(\\d+(\\.\\d+)*)';

/** `pve-qm-usb`. */
export const usbFormat: FormatSchema = {
  host: {
    default_key: true,
    optional: true,
    type: 'string',
    pattern: `(?:(?:${usbIdRe})|(?:${usbPathRe})|[Ss][Pp][Ii][Cc][Ee])`,
    format_description: 'HOSTUSBDEVICE|spice',
    description: `The Host USB device or port or the value 'spice'. HOSTUSBDEVICE syntax is:

 'bus-port(.port)*' (decimal numbers) or
 'vendor_id:product_id' (hexadecimal numbers) or
 'spice'

You can use the 'lsusb -t' command to list existing usb devices.

NOTE: This option allows direct access to host hardware. So it is no longer possible to migrate such
machines - use with special care.

The value 'spice' can be used to add a usb redirection devices for spice.

Either this or the 'mapping' key must be set.
`,
  },
  mapping: mappingKey,
  usb3: {
    optional: true,
    type: 'boolean',
    description:
      'Specifies whether if given host option is a USB3 device or port.' +
      ' For modern guests (machine version >= 7.1 and ostype l26 and windows > 7), this flag' +
      ' is irrelevant (all devices are plugged into a xhci controller).',
    default: 0,
  },
};

const usbDesc: PropertySchema = {
  optional: true,
  type: 'string',
  format: usbFormat,
  description: 'Configure an USB device (n is 0 to 4, for machine version >= 7.1 and ostype' + ' l26 or windows > 7, n can be up to 14).',
};

const serialDesc: PropertySchema = {
  optional: true,
  type: 'string',
  pattern: '(/dev/[^,]+|socket)',
  description: 'Create a serial device inside the VM (n is 0 to 3)',
  verbose_description: `Create a serial device inside the VM (n is 0 to 3), and pass through a
host serial device (i.e. /dev/ttyS0), or create a unix socket on the
host side (use 'qm terminal' to open a terminal connection).

NOTE: If you pass through a host serial device, it is no longer possible to migrate such machines -
use with special care.

CAUTION: Experimental! User reported problems with this option.
`,
};

const parallelDesc: PropertySchema = {
  optional: true,
  type: 'string',
  pattern: '/dev/parport\\d+|/dev/usb/lp\\d+',
  description: 'Map host parallel devices (n is 0 to 2).',
  verbose_description: `Map host parallel devices (n is 0 to 2).

NOTE: This option allows direct access to host hardware. So it is no longer possible to migrate such
machines - use with special care.

CAUTION: Experimental! User reported problems with this option.
`,
};

/** `ivshmem` (anonymous in qemu-server; also registered as `pve-qm-ivshmem`). */
export const ivshmemFormat: FormatSchema = {
  size: { type: 'integer', minimum: 1, description: 'The size of the file in MB.' },
  name: {
    type: 'string',
    pattern: '[a-zA-Z0-9\\-]+',
    optional: true,
    format_description: 'string',
    description: "The name of the file. Will be prefixed with 'pve-shm-'. Default is the VMID. Will be deleted when the VM is stopped.",
  },
};

/** `pve-qm-virtiofs`. */
export const virtiofsFormat: FormatSchema = {
  dirid: {
    type: 'string',
    default_key: true,
    description: 'Mapping identifier of the directory mapping to be shared with the guest. Also used as a mount tag inside the VM.',
    format_description: 'mapping-id',
    format: 'pve-configid',
  },
  cache: {
    type: 'string',
    description: 'The caching policy the file system should use (auto, always, metadata, never).',
    enum: ['auto', 'always', 'metadata', 'never'],
    default: 'auto',
    optional: true,
  },
  'direct-io': { type: 'boolean', description: 'Honor the O_DIRECT flag passed down by guest applications.', default: 0, optional: true },
  'expose-xattr': { type: 'boolean', description: 'Enable support for extended attributes for this mount.', default: 0, optional: true },
  'expose-acl': {
    type: 'boolean',
    description: 'Enable support for POSIX ACLs (enabled ACL implies xattr) for this mount.',
    default: 0,
    optional: true,
  },
};

const virtiofsDesc: PropertySchema = {
  optional: true,
  type: 'string',
  format: virtiofsFormat,
  description: 'Configuration for sharing a directory between host and guest using Virtio-fs.',
};

/** `pve-qm-rng`. */
export const rngFormat: FormatSchema = {
  source: {
    type: 'string',
    enum: ['/dev/urandom', '/dev/random', '/dev/hwrng'],
    default_key: true,
    description:
      'The file on the host to gather entropy from. Using urandom does *not* decrease security in any meaningful way,' +
      " as it's still seeded from real entropy, and the bytes provided will most likely be mixed with real entropy on" +
      " the guest as well. '/dev/hwrng' can be used to pass through a hardware RNG from the host.",
  },
  max_bytes: {
    type: 'integer',
    description:
      "Maximum bytes of entropy allowed to get injected into the guest every 'period' milliseconds." +
      ' Use `0` to disable limiting (potentially dangerous!).',
    optional: true,
    default: 1024,
  },
  period: {
    type: 'integer',
    description:
      "Every 'period' milliseconds the entropy-injection quota is reset, allowing the guest to retrieve another" +
      " 'max_bytes' of entropy.",
    optional: true,
    default: 1000,
  },
};

export function deviceKeys(): Record<string, PropertySchema> {
  const keys: Record<string, PropertySchema> = {};
  for (let i = 0; i < MAX_HOSTPCI_DEVICES; i++) keys[`hostpci${i}`] = hostpciDesc;
  for (let i = 0; i < MAX_USB_DEVICES; i++) keys[`usb${i}`] = usbDesc;
  for (let i = 0; i < MAX_SERIAL_PORTS; i++) keys[`serial${i}`] = serialDesc;
  for (let i = 0; i < MAX_PARALLEL_PORTS; i++) keys[`parallel${i}`] = parallelDesc;
  for (let i = 0; i < MAX_VIRTIOFS; i++) keys[`virtiofs${i}`] = virtiofsDesc;
  keys.ivshmem = {
    type: 'string',
    format: ivshmemFormat,
    description: 'Inter-VM shared memory. Useful for direct communication between VMs, or to the host.',
    optional: true,
  };
  keys.rng0 = { type: 'string', format: 'pve-qm-rng', description: 'Configure a VirtIO-based Random Number Generator.', optional: true };
  return keys;
}

export const deviceFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qm-hostpci': hostpciFormat,
  'pve-qm-usb': usbFormat,
  'pve-qm-virtiofs': virtiofsFormat,
  'pve-qm-rng': rngFormat,
  'pve-qm-ivshmem': ivshmemFormat,
};
