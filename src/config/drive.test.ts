import { describe, expect, it } from 'vitest';
import {
  driveId,
  driveIsCdrom,
  driveIsCloudinit,
  filenameToVolumeId,
  isValidDriveName,
  parseDrive,
  parseDriveInterface,
  printDrive,
  validDriveNames,
} from './drive.js';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';

const errorOf = thrownCvmError;

const reprint = (key: string, value: string): string => printDrive(parseDrive(key, value));

describe('parseDrive / printDrive', () => {
  it('parses a disk into interface, index, file and typed properties', () => {
    expect(parseDrive('scsi0', 'local-lvm:vm-100-disk-0,iothread=1,size=32G,cache=writeback')).toEqual({
      interface: 'scsi',
      index: 0,
      file: 'local-lvm:vm-100-disk-0',
      iothread: 1,
      size: 32 * 1024 ** 3,
      cache: 'writeback',
    });
  });

  it('normalises key order: file first, then sorted keys', () => {
    expect(reprint('scsi0', 'size=32G,local-lvm:vm-100-disk-0,iothread=on,cache=writeback,discard=on')).toBe(
      'local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G',
    );
    expect(reprint('virtio1', 'backup=no,file=rbd:vm-100-disk-1')).toBe('rbd:vm-100-disk-1,backup=0');
  });

  it('accepts the volume= alias and prints it as the bare default key', () => {
    const drive = parseDrive('sata2', 'volume=local:100/vm-100-disk-0.qcow2,format=qcow2');
    expect(drive.file).toBe('local:100/vm-100-disk-0.qcow2');
    expect(drive.volume).toBeUndefined();
    expect(printDrive(drive)).toBe('local:100/vm-100-disk-0.qcow2,format=qcow2');
  });

  it('handles CD-ROMs: volume, none and the physical cdrom', () => {
    const iso = parseDrive('ide2', 'local:iso/debian-13.iso,media=cdrom,size=700M');
    expect(driveIsCdrom(iso)).toBe(true);
    expect(printDrive(iso)).toBe('local:iso/debian-13.iso,media=cdrom,size=700M');
    const none = parseDrive('ide2', 'none,media=cdrom');
    expect(none.file).toBe('none');
    expect(driveIsCdrom(none)).toBe(true);
    expect(printDrive(none)).toBe('none,media=cdrom');
    expect(parseDrive('ide0', 'cdrom,media=cdrom').file).toBe('cdrom');
    expect(driveIsCdrom(parseDrive('scsi1', 'local:vm-100-disk-0'))).toBe(false);
    expect(driveIsCdrom(undefined)).toBe(false);
  });

  it('tells cloud-init drives apart', () => {
    const ci = parseDrive('ide2', 'local-lvm:vm-100-cloudinit,media=cdrom');
    expect(driveIsCloudinit(ci)).toBe(true);
    expect(driveIsCdrom(ci)).toBe(true);
    expect(driveIsCdrom(ci, true)).toBe(false);
    expect(driveIsCloudinit({ file: 'local:100/vm-100-cloudinit.qcow2' })).toBe(true);
    expect(driveIsCloudinit({ file: 'local:iso/cloudinit-notes.iso' })).toBe(false);
  });

  it.each([
    ['128K', 131072, '128K'],
    ['4M', 4194304, '4M'],
    ['1.5G', 1610612736, '1536M'],
    ['1GiB', 1073741824, '1G'],
    ['2T', 2 * 1024 ** 4, '2T'],
    ['1024', 1024, '1K'],
    ['1000', 1000, '1000'],
  ])('converts size=%s to %d bytes and prints %s', (size, bytes, printed) => {
    const drive = parseDrive('scsi0', `local:vm-100-disk-0,size=${size}`);
    expect(drive.size).toBe(bytes);
    expect(printDrive(drive)).toBe(`local:vm-100-disk-0,size=${printed}`);
  });

  it('keeps size=0 unconverted and prints it like format_size (0T)', () => {
    const drive = parseDrive('scsi0', 'local:vm-100-disk-0,size=0');
    expect(drive.size).toBe('0');
    expect(printDrive(drive)).toBe('local:vm-100-disk-0,size=0T');
  });

  it('drops the old geometry properties', () => {
    expect(reprint('ide0', 'local:vm-100-disk-0,cyls=1024,heads=16,secs=63,trans=lba')).toBe('local:vm-100-disk-0');
  });

  it('maps legacy *_length aliases to *_max_length', () => {
    const drive = parseDrive('scsi0', 'local:vm-100-disk-0,mbps_rd=10,mbps_rd_max=20,bps_rd_length=5');
    expect(drive.bps_rd_max_length).toBe(5);
    expect(printDrive(drive)).toBe('local:vm-100-disk-0,bps_rd_max_length=5,mbps_rd=10,mbps_rd_max=20');
  });

  it('reproduces the bps → mbps conversion quirk (always 0.000)', () => {
    const drive = parseDrive('scsi0', 'local:vm-100-disk-0,bps=10485760');
    expect(drive.bps).toBeUndefined();
    expect(drive.mbps).toBe('0.000');
    expect(printDrive(drive)).toBe('local:vm-100-disk-0,mbps=0.000');
  });

  it('parses efidisk0 and tpmstate0 with their own formats', () => {
    expect(reprint('efidisk0', 'size=4M,local-lvm:vm-100-disk-1,pre-enrolled-keys=1,efitype=4m,ms-cert=2023k')).toBe(
      'local-lvm:vm-100-disk-1,efitype=4m,ms-cert=2023k,pre-enrolled-keys=1,size=4M',
    );
    expect(reprint('tpmstate0', 'local-lvm:vm-100-disk-2,version=v2.0,size=4M')).toBe('local-lvm:vm-100-disk-2,size=4M,version=v2.0');
    expect(errorOf(() => parseDrive('efidisk0', 'local-lvm:vm-100-disk-1,cache=none')).message).toBe(
      'format error\ncache: property is not defined in schema and the schema does not allow additional properties\n',
    );
    expect(errorOf(() => parseDrive('tpmstate0', 'local:vm-100-disk-2,format=qcow')).message).toBe(
      "format error\nformat: value 'qcow' does not have a value in the enumeration 'raw, qcow2, vmdk'\n",
    );
  });

  it('parses unusedN volumes but not paths', () => {
    expect(parseDrive('unused7', 'local:vm-100-disk-3')).toEqual({ interface: 'unused', index: 7, file: 'local:vm-100-disk-3' });
    expect(errorOf(() => parseDrive('unused0', '/dev/sdb')).message).toBe(
      // the verifier's own newline stays inside the message, as in qemu-server
      "format error\nfile: invalid format - unable to parse volume ID '/dev/sdb'\n\n",
    );
  });

  it('accepts import-from only when allocating', () => {
    expect(() => parseDrive('scsi1', 'local-lvm:0,import-from=/var/tmp/disk.qcow2')).toThrow(/import-from: property is not defined/);
    const drive = parseDrive('scsi1', 'local-lvm:0,import-from=/var/tmp/disk.qcow2', { withAlloc: true });
    expect(printDrive(drive, { withAlloc: true })).toBe('local-lvm:0,import-from=/var/tmp/disk.qcow2');
  });

  it.each([
    [
      'scsi0',
      'local:vm-100-disk-0,foo=1',
      'format error\nfoo: property is not defined in schema and the schema does not allow additional properties\n',
    ],
    [
      'scsi0',
      'local:vm-100-disk-0,cache=fast',
      "format error\ncache: value 'fast' does not have a value in the enumeration 'none, writethrough, writeback, unsafe, directsync'\n",
    ],
    ['scsi0', 'local:vm-100-disk-0,cache=none,cache=none', 'duplicate key in comma-separated list property: cache'],
    ['scsi0', 'local:vm-100-disk-0,file=local:vm-100-disk-1', 'duplicate key in comma-separated list property: file'],
    ['scsi0', 'media=disk', 'format error\nfile: property is missing and it is not optional\n'],
    ['scsi0', 'local:vm-100-disk-0,size=12X', 'format error\nsize: invalid format - value does not look like a valid disk size: 12X\n\n'],
    [
      'ide0',
      'local:vm-100-disk-0,iothread=1',
      'format error\niothread: property is not defined in schema and the schema does not allow additional properties\n',
    ],
    ['scsi0', 'local:vm-100-disk-0,queues=1', 'format error\nqueues: value must have a minimum value of 2\n'],
    ['ide4', 'local:vm-100-disk-0', 'invalid drive key: ide4'],
    ['scsi31', 'local:vm-100-disk-0', 'invalid drive key: scsi31'],
    ['unused256', 'local:vm-100-disk-0', 'invalid drive key: unused256'],
    ['cdrom', 'local:iso/x.iso', 'unable to parse drive interface cdrom'],
    ['scsi0', 'local:vm-100-disk-0,bps=1,mbps=2', "invalid drive 'scsi0': both bps and mbps specified"],
    ['scsi0', 'local:vm-100-disk-0,mbps_max=20', "invalid drive 'scsi0': mbps_max requires mbps"],
    ['scsi0', 'local:vm-100-disk-0,iops_wr=5,iops_wr_max_length=3', "invalid drive 'scsi0': iops_wr_max_length requires iops_wr_max"],
    [
      'scsi0',
      'local:vm-100-disk-0,bps_max_length=3,mbps_wr_max=1',
      "invalid drive 'scsi0': mbps_wr_max requires mbps_wr; bps_max_length requires mbps_max",
    ],
  ])('rejects %s: %s', (key, value, message) => {
    expect(errorOf(() => parseDrive(key, value)).message).toBe(message);
  });

  it('rejects combinations qemu-server refuses silently', () => {
    expect(() => parseDrive('scsi0', 'local:vm-100-disk-0,mbps=10,mbps_rd=5')).toThrow(/mbps_rd cannot be combined with mbps/);
    expect(() => parseDrive('scsi0', 'local:vm-100-disk-0,iops=10,iops_wr=5')).toThrow(/iops_wr cannot be combined with iops/);
    expect(() => parseDrive('ide2', 'local:iso/x.iso,media=cdrom,snapshot=1')).toThrow(/cdrom cannot have 'snapshot' or 'format'/);
    expect(() => parseDrive('ide2', 'local:iso/x.iso,media=cdrom,format=raw')).toThrow(/cdrom cannot have/);
    expect(() => parseDrive('virtio0', 'local:iso/x.iso,media=cdrom')).toThrow(/virtio does not support media=cdrom/);
    expect(parseDrive('ide2', 'local:iso/x.iso,media=cdrom,snapshot=0').snapshot).toBe(0);
    expect(parseDrive('scsi0', 'local:vm-1-disk-0,iops_wr=5,iops_wr_max=9,iops_wr_max_length=3').iops_wr_max_length).toBe(3);
  });
});

describe('drive names', () => {
  it('knows the valid drive keys', () => {
    expect(validDriveNames).toContain('tpmstate0');
    expect(isValidDriveName('scsi30')).toBe(true);
    expect(isValidDriveName('unused0')).toBe(false);
    expect(isValidDriveName('cdrom')).toBe(false);
    expect(isValidDriveName('ide01')).toBe(false);
  });

  it('splits interface and index', () => {
    expect(parseDriveInterface('virtio15')).toEqual(['virtio', 15]);
    expect(driveId(parseDrive('sata5', 'local:vm-1-disk-0'))).toBe('sata5');
  });
});

describe('filenameToVolumeId', () => {
  it.each([
    ['none', undefined, 'none'],
    ['cdrom', 'cdrom', 'cdrom'],
    ['/dev/sdb', undefined, '/dev/sdb'],
    ['local:iso/x.iso', 'cdrom', 'local:iso/x.iso'],
    ['debian.iso', 'cdrom', 'local:iso/debian.iso'],
    ['vm-100-disk-0.raw', undefined, 'local:100/vm-100-disk-0.raw'],
    ['images/vm-100-disk-0.raw', undefined, undefined],
  ])('%s (media %s) → %s', (file, media, expected) => {
    expect(filenameToVolumeId(100, file, media)).toBe(expected);
  });
});
