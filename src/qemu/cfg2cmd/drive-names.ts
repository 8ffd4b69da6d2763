/**
 * @module qemu/cfg2cmd/drive-names
 * qemu-server's valid_drive_names order (ide0-3, scsi0-30, virtio0-15, sata0-5, efidisk0,
 * tpmstate0): the order drives are emitted in and copied into template configs.
 */

let cached: string[] | undefined;

export function validDriveNames(): string[] {
  if (!cached) {
    cached = [];
    for (let i = 0; i < 4; i++) cached.push(`ide${i}`);
    for (let i = 0; i < 31; i++) cached.push(`scsi${i}`);
    for (let i = 0; i < 16; i++) cached.push(`virtio${i}`);
    for (let i = 0; i < 6; i++) cached.push(`sata${i}`);
    cached.push('efidisk0', 'tpmstate0');
  }
  return cached;
}
