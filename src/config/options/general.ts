/**
 * @module config/options/general
 * The general top-level keys of qemu-server 9.2.6's `$confdesc`: lifecycle and
 * bookkeeping (onboot, lock, template, snapshots' parent/snaptime/vmstate …), guest
 * type and firmware (ostype, bios, boot, acpi, kvm …), SMBIOS, agent, watchdog, tags
 * and meta. The property-string formats they use are in system-formats.ts.
 */

import type { PropertySchema } from '../../schema/types.js';
import { agentFormat, metaInfoFormat } from './system-formats.js';

const bool = (description: string, defaultValue?: 0 | 1): PropertySchema =>
  defaultValue === undefined
    ? { optional: true, type: 'boolean', description }
    : { optional: true, type: 'boolean', description, default: defaultValue };

export const generalKeys: Readonly<Record<string, PropertySchema>> = {
  onboot: bool('Specifies whether a VM will be started during system bootup.', 0),
  autostart: bool('Automatic restart after crash (currently ignored).', 0),
  hotplug: {
    optional: true,
    type: 'string',
    format: 'pve-hotplug-features',
    description:
      'Selectively enable hotplug features. This is a comma separated list of' +
      " hotplug features: 'network', 'disk', 'cpu', 'memory', 'usb' and 'cloudinit'. Use '0' to disable" +
      " hotplug completely. Using '1' as value is an alias for the default `network,disk,usb`." +
      ' USB hotplugging is possible for guests with machine version >= 7.1 and ostype l26 or' +
      ' windows > 7.',
    default: 'network,disk,usb',
  },
  reboot: bool("Allow reboot. If set to '0' the VM exit on reboot.", 1),
  lock: {
    optional: true,
    type: 'string',
    description: 'Lock/unlock the VM.',
    enum: ['backup', 'clone', 'create', 'migrate', 'rollback', 'snapshot', 'snapshot-delete', 'suspending', 'suspended'],
  },
  name: {
    optional: true,
    type: 'string',
    format: 'dns-name',
    description: 'Set a name for the VM. Only used on the configuration web interface.',
  },
  scsihw: {
    optional: true,
    type: 'string',
    description: 'SCSI controller model',
    enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'],
    default: 'lsi',
  },
  description: {
    optional: true,
    type: 'string',
    description: "Description for the VM. Shown in the web-interface VM's summary. This is saved as comment inside the configuration file.",
    maxLength: 1024 * 8,
  },
  ostype: {
    optional: true,
    type: 'string',
    enum: ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'],
    default: 'other',
    description: 'Specify guest operating system.',
    verbose_description: `Specify guest operating system. This is used to enable special
optimization/features for specific operating systems:

[horizontal]
other;; unspecified OS
wxp;; Microsoft Windows XP
w2k;; Microsoft Windows 2000
w2k3;; Microsoft Windows 2003
w2k8;; Microsoft Windows 2008
wvista;; Microsoft Windows Vista
win7;; Microsoft Windows 7
win8;; Microsoft Windows 8/2012/2012r2
win10;; Microsoft Windows 10/2016/2019
win11;; Microsoft Windows 11/2022/2025
l24;; Linux 2.4 Kernel
l26;; Linux 2.6 - 7.X Kernel
solaris;; Solaris/OpenSolaris/OpenIndiania kernel
`,
  },
  boot: {
    optional: true,
    type: 'string',
    format: 'pve-qm-boot',
    description: "Specify guest boot order. Use the 'order=' sub-property as usage with no key or 'legacy=' is deprecated.",
  },
  bootdisk: {
    optional: true,
    type: 'string',
    format: 'pve-qm-bootdisk',
    description: "Enable booting from specified disk. Deprecated: Use 'boot: order=foo;bar' instead.",
    pattern: '(ide|sata|scsi|virtio)\\d+',
  },
  acpi: bool('Enable/disable ACPI.', 1),
  agent: {
    optional: true,
    description: 'Enable/disable communication with the QEMU Guest Agent and its properties.',
    type: 'string',
    format: agentFormat,
  },
  kvm: bool('Enable/disable KVM hardware virtualization.', 1),
  tdf: bool('Enable/disable time drift fix.', 0),
  localtime: bool(
    'Set the real time clock (RTC) to local time. This is enabled by default if the `ostype` indicates a Microsoft Windows OS.',
  ),
  freeze: bool("Freeze CPU at startup (use 'c' monitor command to start execution)."),
  watchdog: {
    optional: true,
    type: 'string',
    format: 'pve-qm-watchdog',
    description: 'Create a virtual hardware watchdog device.',
    verbose_description:
      'Create a virtual hardware watchdog device. Once enabled (by a guest' +
      ' action), the watchdog must be periodically polled by an agent inside the guest or' +
      ' else the watchdog will reset the guest (or execute the respective action specified)',
  },
  startdate: {
    optional: true,
    type: 'string',
    typetext: '(now | YYYY-MM-DD | YYYY-MM-DDTHH:MM:SS)',
    description: "Set the initial date of the real time clock. Valid format for date are:'now' or '2006-06-17T16:01:21' or '2006-06-17'.",
    pattern: '(now|\\d{4}-\\d{1,2}-\\d{1,2}(T\\d{1,2}:\\d{1,2}:\\d{1,2})?)',
    default: 'now',
  },
  startup: {
    // standard option `pve-startup-order` (pve-common)
    description:
      'Startup and shutdown behavior. Order is a non-negative number defining the general startup order.' +
      " Shutdown in done with reverse ordering. Additionally you can set the 'up' or 'down' delay in seconds," +
      ' which specifies a delay to wait before the next VM is started or stopped.',
    optional: true,
    type: 'string',
    format: 'pve-startup-order',
    typetext: '[[order=]\\d+] [,up=\\d+] [,down=\\d+] ',
  },
  template: bool('Enable/disable Template.', 0),
  args: {
    optional: true,
    type: 'string',
    description: 'Arbitrary arguments passed to kvm.',
    verbose_description: `Arbitrary arguments passed to kvm, for example:

args: -no-reboot -smbios 'type=0,vendor=FOO'

NOTE: this option is for experts only.
`,
  },
  migrate_speed: {
    optional: true,
    type: 'integer',
    description: 'Set maximum speed (in MB/s) for migrations. Value 0 is no limit.',
    minimum: 0,
    default: 0,
  },
  migrate_downtime: {
    optional: true,
    type: 'number',
    description:
      'Set maximum tolerated downtime (in seconds) for migrations. Should the' +
      ' migration not be able to converge in the very end, because too much newly dirtied' +
      ' RAM needs to be transferred, the limit will be increased automatically step-by-step' +
      ' until migration can converge. Will be capped to 2000 seconds (maximum in QEMU).',
    minimum: 0,
    default: 0.1,
  },
  parent: {
    // standard option `pve-snapshot-name`
    description: 'Parent snapshot name. This is used internally, and should not be modified.',
    type: 'string',
    format: 'pve-configid',
    maxLength: 40,
    optional: true,
  },
  snaptime: { optional: true, description: 'Timestamp for snapshots.', type: 'integer', minimum: 0 },
  vmstate: {
    optional: true,
    type: 'string',
    format: 'pve-volume-id',
    description: 'Reference to a volume which stores the VM state. This is used internally for snapshots.',
  },
  vmstatestorage: {
    // standard option `pve-storage-id`
    description: 'Default storage for VM state volumes/files.',
    type: 'string',
    format: 'pve-storage-id',
    format_description: 'storage ID',
    optional: true,
  },
  smbios1: {
    description: 'Specify SMBIOS type 1 fields.',
    type: 'string',
    format: 'pve-qm-smbios1',
    maxLength: 512,
    optional: true,
  },
  protection: bool('Sets the protection flag of the VM. This will disable the remove VM and remove disk operations.', 0),
  bios: {
    optional: true,
    type: 'string',
    enum: ['seabios', 'ovmf'],
    description: 'Select BIOS implementation.',
    default: 'seabios',
  },
  vmgenid: {
    type: 'string',
    pattern: '(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])',
    format_description: 'UUID',
    description: "Set VM Generation ID. Use '1' to autogenerate on create or update, pass '0' to disable explicitly.",
    verbose_description:
      'The VM generation ID (vmgenid) device exposes a 128-bit integer' +
      ' value identifier to the guest OS. This allows to notify the guest operating system' +
      ' when the virtual machine is executed with a different configuration (e.g. snapshot' +
      ' execution or creation from a template). The guest operating system notices the' +
      ' change, and is then able to react as appropriate by marking its copies of' +
      ' distributed databases as dirty, re-initializing its random number generator, etc.\n' +
      'Note that auto-creation only works when done through API/CLI create or update methods' +
      ', but not when manually editing the config file.',
    default: '1 (autogenerated)',
    optional: true,
  },
  hookscript: {
    type: 'string',
    format: 'pve-volume-id',
    optional: true,
    description: 'Script that will be executed during various steps in the vms lifetime.',
  },
  tags: { type: 'string', format: 'pve-tag-list', description: 'Tags of the VM. This is only meta information.', optional: true },
  meta: {
    type: 'string',
    format: metaInfoFormat,
    description: 'Some (read-only) meta-information about this guest.',
    optional: true,
  },
};
