import { describe, expect, it } from 'vitest';
import { deviceBootorder } from './bootorder.js';

const DISKS = {
  ide2: 'none,media=cdrom',
  net0: 'virtio=A2:C0:43:77:08:A0,bridge=vmbr0',
  scsi4: 'local:8006/vm-8006-disk-0.qcow2,discard=on,size=104858K',
  virtio0: 'local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=104858K',
  virtio1: 'local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=104858K',
};

describe('deviceBootorder', () => {
  it('numbers order= devices from 100 (bootorder)', () => {
    expect(deviceBootorder({ ...DISKS, boot: 'order=virtio1;net0;scsi4;ide2' })).toEqual({
      virtio1: 100,
      net0: 101,
      scsi4: 102,
      ide2: 103,
    });
  });

  it('follows legacy letters and bootdisk (bootorder-legacy)', () => {
    expect(deviceBootorder({ ...DISKS, boot: 'ndca', bootdisk: 'virtio1' })).toEqual({ net0: 100, ide2: 200, virtio1: 302 });
  });

  it('uses cdn without boot and nothing for an empty boot (bootorder-empty)', () => {
    expect(deviceBootorder({ ...DISKS, bootdisk: 'scsi4' })).toEqual({
      ide2: 200,
      scsi4: 100,
      net0: 300,
    });
    expect(deviceBootorder({ ...DISKS, boot: '' })).toEqual({});
  });
});
