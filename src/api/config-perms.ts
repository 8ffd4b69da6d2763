/**
 * @module api/config-perms
 * Which privileges a change of VM config keys needs, after qemu-server's
 * check_vm_modify_config_perm and its per-device helpers (API2/Qemu.pm 9.2.6): CPU, memory,
 * hardware-type, general, disk, network and cloud-init key groups map to VM.Config.*; drives
 * need VM.Config.Disk (VM.Config.CDROM for a cd-rom) plus Datastore.AllocateSpace on a storage
 * they allocate on; serial ports other than `socket`, USB host devices, non-mapped PCI
 * passthrough and every key of no group (`args`, `hookscript`, `amd-sev`, `intel-tdx`, …) are
 * root@pam only, with qemu-server's text.
 */

import { CvmError } from '../errors.js';
import { driveFile, isDriveKey } from '../config/file/drives.js';
import { driveIsCloudinit } from '../config/drive.js';
import type { Identity } from '../access/types.js';
import type { AccessControl } from '../access/types.js';
import { ROOT } from './permissions.js';

const CPU = new Set(['cores', 'cpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus', 'affinity']);
const MEMORY = new Set(['memory', 'balloon', 'shares', 'allow-ksm']);
const HWTYPE = new Set(['acpi', 'hotplug', 'kvm', 'machine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog', 'audio0', 'rng0']);
const GENERAL = new Set([
  'agent',
  'autostart',
  'bios',
  'description',
  'keyboard',
  'localtime',
  'migrate_downtime',
  'migrate_speed',
  'name',
  'onboot',
  'ostype',
  'protection',
  'reboot',
  'startdate',
  'startup',
  'tdf',
  'template',
  'tags',
]);
const DISK = new Set(['boot', 'bootdisk', 'vmstatestorage']);
const CLOUDINIT = new Set(['cicustom', 'cipassword', 'citype', 'ciuser', 'ciupgrade', 'nameserver', 'searchdomain', 'sshkeys']);

const rootOnly = (key: string, what = 'config') => new CvmError('PERMISSION_DENIED', `only root can set '${key}' ${what}`);

/** The storage a drive value allocates on (`local:4`) or refers to (`local:100/vm-100-disk-0.raw`). */
function storageOfDrive(value: string): string | undefined {
  const file = value.split(',', 1)[0] ?? '';
  const m = /^(?:file=|volume=)?([a-zA-Z][a-zA-Z0-9\-_.]*):/.exec(file);
  return m?.[1];
}

/**
 * Throws PERMISSION_DENIED unless the identity may set `values` and delete `deletes` on the VM.
 * root@pam may do everything (API tokens of root are not root@pam, as in PVE).
 */
export async function checkConfigChangePerms(
  access: AccessControl,
  identity: Identity,
  vmid: number | string,
  values: Readonly<Record<string, string>>,
  deletes: readonly string[] = [],
): Promise<void> {
  if (identity.authid === ROOT) return;
  const vmPath = `/vms/${vmid}`;
  const vm = (privs: string[], any = false) => access.check(identity, vmPath, privs, any ? { any: true } : undefined);
  const keys = [...Object.keys(values), ...deletes];
  for (const key of keys) {
    const value = values[key];
    if (isDriveKey(key) || key === 'cdrom') {
      const cdrom = key === 'cdrom' || (value !== undefined && /(?:^|,)media=cdrom(?:,|$)/.test(value));
      // a cloud-init drive (`local:cloudinit`, `…/vm-100-cloudinit.qcow2`) needs both, as update_vm's check_drive_perms
      // (`cdrom` is ide2's alias; a value that does not parse is no cloud-init drive and is refused by its schema)
      const volume = value !== undefined ? driveFile(key === 'cdrom' ? 'ide2' : key, value) : undefined;
      const cloudinit = volume !== undefined && driveIsCloudinit(volume);
      await vm(cloudinit ? ['VM.Config.Cloudinit', 'VM.Config.CDROM'] : [cdrom ? 'VM.Config.CDROM' : 'VM.Config.Disk']);
      const storage = value !== undefined ? storageOfDrive(value) : undefined;
      if (storage && value !== undefined && /^[^,]*:\d+(?:\.\d+)?(?:,|$)/.test(value)) {
        await access.check(identity, `/storage/${storage}`, ['Datastore.AllocateSpace']);
      }
    } else if (/^unused\d+$/.test(key)) await vm(['VM.Config.Disk']);
    else if (/^serial\d+$/.test(key)) {
      if (value !== undefined && value !== 'socket') throw rootOnly(key, 'config for real devices');
      await vm(['VM.Config.HWType']);
    } else if (/^usb\d+$/.test(key)) {
      await vm(['VM.Config.HWType']);
      if (value !== undefined && !/(?:^|,)(?:host=)?spice(?:,|$)/i.test(value) && !/(?:^|,)mapping=/.test(value)) {
        throw rootOnly(key, 'config for real devices');
      }
    } else if (/^hostpci\d+$/.test(key)) {
      if (value !== undefined && !/(?:^|,)mapping=/.test(value)) throw rootOnly(key, 'config for non-mapped devices');
      await vm(['VM.Config.HWType']);
    } else if (/^virtiofs\d+$/.test(key)) await vm(['VM.Config.Disk']);
    else if (CPU.has(key) || /^numa\d+$/.test(key)) await vm(['VM.Config.CPU']);
    else if (MEMORY.has(key)) await vm(['VM.Config.Memory']);
    else if (HWTYPE.has(key)) await vm(['VM.Config.HWType']);
    else if (GENERAL.has(key)) {
      await vm(['VM.Config.Options']);
      if (key === 'startup') await access.check(identity, '/', ['Sys.Modify']);
    } else if (key === 'freeze') await vm(['VM.PowerMgmt']);
    else if (DISK.has(key)) await vm(['VM.Config.Disk']);
    else if (/^net\d+$/.test(key)) await vm(['VM.Config.Network']);
    else if (CLOUDINIT.has(key) || /^ipconfig\d+$/.test(key)) await vm(['VM.Config.Cloudinit', 'VM.Config.Network'], true);
    else throw rootOnly(key);
  }
}
