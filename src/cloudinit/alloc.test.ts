/**
 * Allocation of `STORAGE:cloudinit` (qemu-server's create_disks): a 4 MiB qcow2
 * `vm-<vmid>-cloudinit.qcow2` with real qemu-img on a dir storage, a raw `vm-<vmid>-cloudinit`
 * LV/zvol on block storages (recorded commands: no device-mapper or ZFS here), `media=cdrom`
 * and no `format=` in the drive value; a failed call leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocateDriveVolumes } from '../storage/alloc.js';
import type { CommandRunner } from '../storage/block-alloc.js';
import type { StorageConfig } from '../storage/types.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-ci-alloc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const storage: StorageConfig = {
  local: { type: 'dir', path: dir, content: ['images'] },
  iso: { type: 'dir', path: dir, content: ['iso'] },
  thin: { type: 'lvmthin', vgname: 'pve', thinpool: 'data', content: ['images'] },
  tank: { type: 'zfspool', pool: 'rpool/data', content: ['images'] },
};

function context(run: CommandRunner = async () => ({ stdout: '' })) {
  return { storage, run, firmware: { descriptors: [] } as never, cvmType: '' as never, arch: 'x86_64', q35: false };
}

describe('STORAGE:cloudinit allocation', () => {
  it('makes a 4 MiB qcow2 on a dir storage (format= is honoured and dropped) with media=cdrom', async () => {
    const out = await allocateDriveVolumes({ root: dir, vmid: 300, conf: { ide2: 'local:cloudinit' }, keys: ['ide2'], context: context() });
    expect(out.ide2).toBe('local:300/vm-300-cloudinit.qcow2,media=cdrom');
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', join(dir, 'images/300/vm-300-cloudinit.qcow2')], { encoding: 'utf8' }),
    );
    expect([info.format, info['virtual-size']]).toEqual(['qcow2', 4 * 1024 * 1024]);

    const raw = await allocateDriveVolumes({
      root: dir,
      vmid: 301,
      conf: { scsi5: 'local:cloudinit,format=raw' },
      keys: ['scsi5'],
      context: context(),
    });
    expect(raw.scsi5).toBe('local:301/vm-301-cloudinit.raw,media=cdrom');
    expect(existsSync(join(dir, 'images/301/vm-301-cloudinit.raw'))).toBe(true);
  });

  it('makes raw vm-<vmid>-cloudinit volumes on LVM-thin and ZFS', async () => {
    const calls: string[] = [];
    const run: CommandRunner = async (bin, args) => {
      calls.push([bin, ...args].join(' '));
      return { stdout: '' };
    };
    const out = await allocateDriveVolumes({
      root: dir,
      vmid: 302,
      conf: { ide0: 'thin:cloudinit' },
      keys: ['ide0'],
      context: context(run),
    });
    expect(out.ide0).toBe('thin:vm-302-cloudinit,media=cdrom');
    expect(calls).toEqual(['lvcreate -aly -V 4096k --name vm-302-cloudinit --thinpool pve/data']);
    calls.length = 0;
    const zfs = await allocateDriveVolumes({
      root: dir,
      vmid: 303,
      conf: { sata1: 'tank:cloudinit' },
      keys: ['sata1'],
      context: context(run),
    });
    expect(zfs.sata1).toBe('tank:vm-303-cloudinit,media=cdrom');
    expect(calls).toEqual(['zfs create -V 4096k rpool/data/vm-303-cloudinit']);
  });

  it('refuses a storage without images and an existing image, and undoes the other volumes of the call', async () => {
    await expect(
      allocateDriveVolumes({ root: dir, vmid: 304, conf: { ide2: 'iso:cloudinit' }, keys: ['ide2'], context: context() }),
    ).rejects.toThrow("storage 'iso' does not support vm images");
    await expect(
      allocateDriveVolumes({
        root: dir,
        vmid: 300,
        conf: { ide0: 'local:1', ide2: 'local:cloudinit' },
        keys: ['ide0', 'ide2'],
        context: context(),
      }),
    ).rejects.toThrow("volume 'local:300/vm-300-cloudinit.qcow2' already exists");
    expect(existsSync(join(dir, 'images/300/vm-300-disk-0.raw'))).toBe(false);
    expect(existsSync(join(dir, 'images/300/vm-300-cloudinit.qcow2'))).toBe(true);
    // a dir storage makes raw, qcow2 and vmdk images only (pve-storage's alloc_image)
    await expect(
      allocateDriveVolumes({ root: dir, vmid: 305, conf: { ide2: 'local:cloudinit,format=qed' }, keys: ['ide2'], context: context() }),
    ).rejects.toMatchObject({ code: 'STORAGE', message: expect.stringContaining("unsupported format 'qed'") });
    expect(existsSync(join(dir, 'images/305/vm-305-cloudinit.qed'))).toBe(false);
  });
});
