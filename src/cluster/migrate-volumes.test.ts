/**
 * What a migration does with each volume and which VMs it refuses, as pure functions of the
 * config and the storage config: shared volumes stay, local ones are copied, the ones cvmctl
 * cannot copy are named with qemu-server's reason; local devices and confidential-computing
 * state block as in check_local_resources / check_non_migratable_resources.
 */
import { describe, expect, it } from 'vitest';
import { parseVmConfig } from '../config/file/parse.js';
import type { StorageConfig } from '../storage/types.js';
import { assertNotRunning } from './migrate.js';
import { localResources, scanVolumes } from './migrate-volumes.js';

const storage: StorageConfig = {
  local: { type: 'dir', path: '/srv/a', content: ['images', 'iso'] },
  nfs1: { type: 'nfs', path: '/mnt/nfs1', content: ['images'], shared: true },
  vg: { type: 'lvm', content: ['images'], vgname: 'vg0' },
};
const cfg = (text: string, vmid = 100) => parseVmConfig(`/etc/pve/qemu-server/${vmid}.conf`, text, { strict: false });

describe('scanVolumes', () => {
  it('sorts volumes into shared and local with what references them', () => {
    const scan = scanVolumes(
      cfg(
        [
          'scsi0: local:100/vm-100-disk-0.qcow2,size=32G',
          'scsi1: nfs1:100/vm-100-disk-1.raw,size=1G',
          'ide2: none,media=cdrom',
          'tpmstate0: local:100/vm-100-disk-2.raw,size=4M,version=v2.0',
          'unused0: local:100/vm-100-disk-3.raw',
          'parent: snap',
          '',
          '[snap]',
          'scsi0: local:100/vm-100-disk-0.qcow2,size=32G',
          'scsi2: local:100/vm-100-disk-4.raw,size=1G',
          'vmstate: local:100/vm-100-state-snap.raw',
          '',
        ].join('\n'),
      ),
      storage,
    );
    expect(scan.problems).toEqual([]);
    expect(scan.volumes.map((v) => [v.volid, v.shared, v.ref, v.size])).toEqual([
      ['local:100/vm-100-disk-0.qcow2', false, 'attached', 32 * 1024 ** 3],
      ['local:100/vm-100-disk-2.raw', false, 'generated', 4 * 1024 ** 2],
      ['local:100/vm-100-disk-3.raw', false, 'unused', undefined],
      ['local:100/vm-100-disk-4.raw', false, 'snapshot', 1024 ** 3],
      ['local:100/vm-100-state-snap.raw', false, 'snapshot', undefined],
      ['nfs1:100/vm-100-disk-1.raw', true, 'attached', 1024 ** 3],
    ]);
    expect(scan.volumes[0]).toMatchObject({ path: '/srv/a/images/100/vm-100-disk-0.qcow2', format: 'qcow2', drivename: 'scsi0' });
  });

  it("names what cannot be copied with qemu-server's reasons", () => {
    const scan = scanVolumes(
      cfg(
        [
          'ide0: cdrom,media=cdrom',
          'ide2: local:iso/debian.iso,media=cdrom',
          'scsi0: /dev/sdb',
          'scsi1: /dev/sdc,shared=1',
          'scsi2: local:101/vm-101-disk-0.raw',
          'scsi3: vg:vm-100-disk-0',
          'scsi4: nosuch:100/vm-100-disk-0.raw',
          '',
        ].join('\n'),
      ),
      storage,
    );
    expect(scan.problems).toEqual([
      { volid: 'cdrom', message: "can't migrate local cdrom drive" },
      { volid: 'local:iso/debian.iso', message: 'local cdrom image' },
      { volid: '/dev/sdb', message: 'local file/device' },
      { volid: 'local:101/vm-101-disk-0.raw', message: 'owned by other VM (owner = VM 101)' },
      { volid: 'vg:vm-100-disk-0', message: "storage type 'lvm' not supported" },
      { volid: 'nosuch:100/vm-100-disk-0.raw', message: "storage 'nosuch' does not exist" },
    ]);
    expect(scan.volumes).toEqual([]);
  });
});

describe('refusals of running VMs and local devices', () => {
  it('explains why a running confidential VM cannot move, and refuses every running VM', () => {
    const sev = cfg('amd-sev: type=snp\nmemory: 2048\n');
    expect(() => assertNotRunning(sev, true, false)).toThrow("can't migrate running VM without --online");
    expect(() => assertNotRunning(sev, true, true)).toThrow(
      'Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: amd-sev - the encrypted memory and CPU state of a confidential VM cannot leave the host it was launched on; shut it down and migrate it offline',
    );
    expect(() => assertNotRunning(cfg('intel-tdx: type=tdx,attestation=0\n'), true, true)).toThrow(
      'Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: intel-tdx - ',
    );
    expect(() => assertNotRunning(cfg('memory: 512\n'), true, true)).toThrow(
      'online migration of a running VM is not supported by cvmctl - shut VM 100 down and migrate it offline',
    );
    expect(() => assertNotRunning(sev, false, true)).not.toThrow();
  });

  it('lists local devices as check_local_resources does', () => {
    const conf = cfg(
      'hostpci0: 0000:01:00.0\nusb0: host=spice\nusb1: host=1234:5678\nserial0: socket\nserial1: /dev/ttyS0\nparallel0: /dev/parport0\n',
    ).conf;
    expect(localResources(conf, false).sort()).toEqual(['hostpci0', 'parallel0', 'serial1', 'usb1']);
    expect(localResources({ 'amd-sev': 'type=std' }, true)).toEqual(['amd-sev']);
    expect(localResources({ 'amd-sev': 'type=std' }, false)).toEqual([]);
  });
});
