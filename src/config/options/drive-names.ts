/**
 * @module config/options/drive-names
 * The drive key names of qemu-server (valid_drive_names and friends) and their counts, as plain
 * data without the drive formats, so that code needing only the names (the command-line
 * generator) does not load the option table.
 */

export const MAX_IDE_DISKS = 4;
export const MAX_SCSI_DISKS = 31;
export const MAX_VIRTIO_DISKS = 16;
export const MAX_SATA_DISKS = 6;
export const MAX_UNUSED_DISKS = 256;

const range = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** ide0-3, scsi0-30, virtio0-15, sata0-5, efidisk0, tpmstate0, in qemu-server's order. */
export const validDriveNames: readonly string[] = Object.freeze([
  ...range('ide', MAX_IDE_DISKS),
  ...range('scsi', MAX_SCSI_DISKS),
  ...range('virtio', MAX_VIRTIO_DISKS),
  ...range('sata', MAX_SATA_DISKS),
  'efidisk0',
  'tpmstate0',
]);

/** valid_drive_names_for_boot: every drive name except efidisk0 and tpmstate0. */
export const validDriveNamesForBoot: readonly string[] = Object.freeze(
  validDriveNames.filter((name) => name !== 'efidisk0' && name !== 'tpmstate0'),
);

/** valid_drive_names_with_unused: the drive names followed by unused0..255. */
export const validDriveNamesWithUnused: readonly string[] = Object.freeze([...validDriveNames, ...range('unused', MAX_UNUSED_DISKS)]);

const driveNameSet: ReadonlySet<string> = new Set(validDriveNames);

/** is_valid_drivename: a drive key (not `unusedN`, not `cdrom`). */
export function isValidDriveName(key: string): boolean {
  return driveNameSet.has(key);
}
