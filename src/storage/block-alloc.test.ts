/**
 * LVM-thin and ZFS pool allocation with a recording command runner: this container has no
 * device-mapper and no ZFS, so the real tools cannot create volumes here (test/integration/
 * lvm.test.ts runs them where they can). The expected command lines are those of PVE's
 * LvmThinPlugin/ZFSPoolPlugin alloc_image and free_image.
 */
import { describe, expect, it } from 'vitest';
import { allocateDriveVolumes, freeVolumes } from './alloc.js';
import type { CommandRunner } from './block-alloc.js';
import type { StorageConfig } from './types.js';

const storage: StorageConfig = {
  local: { type: 'dir', path: '/nonexistent', content: ['images'] },
  thin: { type: 'lvmthin', vgname: 'pve', thinpool: 'data', content: ['images', 'rootdir'] },
  tank: { type: 'zfspool', pool: 'rpool/data', sparse: 1, blocksize: '16k', content: ['images'] },
};

function recorder(existing: Record<string, string> = {}, failOn?: RegExp): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  const run: CommandRunner = async (bin, args) => {
    const line = [bin, ...args].join(' ');
    calls.push(line);
    if (failOn?.test(line)) throw new Error(`${bin}: simulated failure`);
    return { stdout: existing[bin] ?? '' };
  };
  return { run, calls };
}

const ctx = (run: CommandRunner) => ({
  storage,
  run,
  firmware: { descriptors: [] } as never,
  cvmType: '' as never,
  arch: 'x86_64',
  q35: false,
});

describe('block storage allocation', () => {
  it('creates thin LVs after the highest used disk number, in KiB, and records raw volume ids', async () => {
    const calls: string[] = [];
    const lvs = ['pve:vm-100-disk-0', 'pve:vm-100-disk-1', 'pve:vm-101-disk-3', 'pve:data'];
    const run: CommandRunner = async (bin, args) => {
      calls.push([bin, ...args].join(' '));
      if (bin === 'lvcreate') lvs.push(`pve:${args[args.indexOf('--name') + 1]}`);
      return { stdout: bin === 'lvs' ? lvs.map((l) => `  ${l}`).join('\n') : '' };
    };
    const out = await allocateDriveVolumes({
      root: '/x',
      vmid: 100,
      conf: { scsi0: 'thin:2', tpmstate0: 'thin:1,version=v2.0' },
      keys: ['scsi0', 'tpmstate0'],
      context: ctx(run),
    });
    expect(calls.filter((c) => c.startsWith('lvcreate'))).toEqual([
      'lvcreate -aly -V 2097152k --name vm-100-disk-2 --thinpool pve/data',
      'lvcreate -aly -V 4096k --name vm-100-disk-3 --thinpool pve/data',
    ]);
    expect(calls[0]).toBe('lvs --separator : --noheadings --units b --unbuffered --nosuffix --options vg_name,lv_name pve');
    expect(out.scsi0).toBe('thin:vm-100-disk-2,size=2G');
    expect(out.tpmstate0).toBe('thin:vm-100-disk-3,size=4M,version=v2.0');
  });

  it('creates sparse zvols with the pool blocksize', async () => {
    const { run, calls } = recorder({ zfs: 'rpool/data\nrpool/data/vm-7-disk-0\n' });
    const out = await allocateDriveVolumes({ root: '/x', vmid: 7, conf: { virtio0: 'tank:0.5' }, keys: ['virtio0'], context: ctx(run) });
    expect(calls).toEqual([
      'zfs list -o name -t volume,filesystem -d1 -Hp rpool/data',
      'zfs create -s -b 16k -V 524288k rpool/data/vm-7-disk-1',
    ]);
    expect(out.virtio0).toBe('tank:vm-7-disk-1,size=512M');
  });

  it('refuses non-raw formats there and removes what it created when a later volume fails', async () => {
    const { run, calls } = recorder({}, /--name vm-100-disk-1 /);
    await expect(
      allocateDriveVolumes({ root: '/x', vmid: 100, conf: { scsi0: 'thin:1,format=qcow2' }, keys: ['scsi0'], context: ctx(run) }),
    ).rejects.toMatchObject({ code: 'STORAGE', message: "unsupported format 'qcow2'" });
    expect(calls.filter((c) => c.startsWith('lvcreate'))).toEqual([]);
    // a runner whose listing shows what lvcreate made, failing on the second LV
    const listed: string[] = [];
    const run2: CommandRunner = async (bin, args) => {
      const line = [bin, ...args].join(' ');
      calls.push(line);
      if (bin === 'lvcreate') {
        const name = args[args.indexOf('--name') + 1] as string;
        if (name === 'vm-100-disk-1') throw new Error('lvcreate: simulated failure');
        listed.push(`pve:${name}`);
      }
      return { stdout: bin === 'lvs' ? listed.join('\n') : '' };
    };
    calls.length = 0;
    await expect(
      allocateDriveVolumes({
        root: '/x',
        vmid: 100,
        conf: { scsi0: 'thin:1', scsi1: 'thin:1' },
        keys: ['scsi0', 'scsi1'],
        context: ctx(run2),
      }),
    ).rejects.toThrow('simulated failure');
    expect(calls.filter((c) => !c.startsWith('lvs'))).toEqual([
      'lvcreate -aly -V 1048576k --name vm-100-disk-0 --thinpool pve/data',
      'lvcreate -aly -V 1048576k --name vm-100-disk-1 --thinpool pve/data',
      'lvremove -f pve/vm-100-disk-0',
    ]);
  });

  it('frees LVs and zvols of the VM named in a config, and only those', async () => {
    const { run, calls } = recorder();
    await freeVolumes({
      root: '/x',
      vmid: 100,
      conf: { unused0: 'thin:vm-100-disk-2', unused1: 'tank:vm-100-disk-0', unused2: 'thin:vm-101-disk-0' },
      context: ctx(run),
    });
    expect(calls).toEqual(['lvremove -f pve/vm-100-disk-2', 'zfs destroy -r rpool/data/vm-100-disk-0']);
  });
});
