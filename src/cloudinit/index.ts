/**
 * @module cloudinit
 * Cloud-init for qemu-server compatible VMs: the files of the nocloud, configdrive2 and
 * opennebula formats (pure: files, userdata, network, opennebula, quote), the record of changes
 * in `[special:cloudinit]` (pending), writing the image into the VM's cloud-init volume with
 * genisoimage and qemu-img (image), and when that happens (apply).
 */

export {
  applyCloudinit,
  cloudinitDump,
  cloudinitUpdate,
  DUMP_TYPES,
  updateCloudinitDrive,
  type ApplyOptions,
  type UpdateDriveContext,
} from './apply.js';
export { cloudinitFormat, cloudinitImage, dumpCloudinit, type CloudinitImage, type DumpType } from './files.js';
export { cloudinitDrive, generateCloudinit, hostResolv, readCustomFiles } from './image.js';
export {
  assertSingleCloudinitDrive,
  cloudinitPending,
  hasCloudinitChanges,
  recordCloudinitChange,
  type CloudinitPendingRow,
} from './pending.js';
export { parseResolvConf, userData, type HostResolv } from './userdata.js';
