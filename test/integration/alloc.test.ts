/**
 * Volume allocation with the real qemu-img: `STORAGE:SIZE` drive values become
 * `STORAGE:<vmid>/vm-<vmid>-disk-N.<fmt>` files with the recorded size, efidisks are copies
 * of the selected OVMF VARS template (528K for a 4M template), SEV-SNP refuses an efidisk,
 * a failed call leaves no file behind, and destroyVolumes removes what the VM owns.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allocateDriveVolumes, destroyVolumes } from '../../src/storage/alloc.js';
import { discoverFirmwareDescriptors, efivarsTemplate } from '../../src/firmware/index.js';
import { QEMU_IMG } from './helpers.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});
function root(): string {
  const r = mkdtempSync(join(tmpdir(), 'cvmctl-alloc-'));
  roots.push(r);
  return r;
}
const info = (path: string) =>
  JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as { format: string; 'virtual-size': number };

describe.skipIf(!QEMU_IMG)(`volume allocation with qemu-img${QEMU_IMG ? '' : ' (skipped: qemu-img is not installed)'}`, () => {
  it('creates raw (storage default) and qcow2 disks and records their size', async () => {
    const r = root();
    const conf = { scsi0: 'local:1,iothread=1', virtio0: 'local:0.5,format=qcow2', ide2: 'none,media=cdrom', memory: '512' };
    const out = await allocateDriveVolumes({ root: r, vmid: 9300, conf, keys: ['scsi0', 'virtio0', 'ide2'] });
    expect(out.scsi0).toBe('local:9300/vm-9300-disk-0.raw,iothread=1,size=1G');
    expect(out.virtio0).toBe('local:9300/vm-9300-disk-1.qcow2,size=512M');
    expect(out.ide2).toBe('none,media=cdrom');
    expect(out.memory).toBe('512');
    const dir = join(r, 'images', '9300');
    expect(info(join(dir, 'vm-9300-disk-0.raw'))).toMatchObject({ format: 'raw', 'virtual-size': 1024 ** 3 });
    expect(info(join(dir, 'vm-9300-disk-1.qcow2'))).toMatchObject({ format: 'qcow2', 'virtual-size': 512 * 1024 ** 2 });
    // the next allocation takes the next free number
    const more = await allocateDriveVolumes({ root: r, vmid: 9300, conf: { scsi1: 'local:0.001' }, keys: ['scsi1'] });
    expect(more.scsi1).toBe('local:9300/vm-9300-disk-2.raw,size=1049K');
  });

  it('copies the OVMF VARS template into an efidisk (4M template: size=528K)', async () => {
    const r = root();
    const conf = { efidisk0: 'local:1,efitype=4m,pre-enrolled-keys=1', machine: 'q35', bios: 'ovmf' };
    const out = await allocateDriveVolumes({ root: r, vmid: 9301, conf, keys: ['efidisk0'] });
    expect(out.efidisk0).toBe('local:9301/vm-9301-disk-0.raw,efitype=4m,pre-enrolled-keys=1,size=528K');
    const template = efivarsTemplate(
      await discoverFirmwareDescriptors(),
      'x86_64',
      { efitype: '4m', 'pre-enrolled-keys': 1 },
      true,
      undefined,
      'q35',
    );
    expect(template?.size).toBe(540672);
    const disk = join(r, 'images', '9301', 'vm-9301-disk-0.raw');
    expect(statSync(disk).size).toBe(540672);
    expect(readFileSync(disk).equals(readFileSync(template?.path as string))).toBe(true);
  });

  it('refuses an efidisk for SEV-SNP with qemu-server text and allocates nothing', async () => {
    const r = root();
    const conf = { scsi0: 'local:1', efidisk0: 'local:1,efitype=4m', 'amd-sev': 'type=snp' };
    await expect(allocateDriveVolumes({ root: r, vmid: 9302, conf, keys: ['scsi0', 'efidisk0'] })).rejects.toMatchObject({
      message: 'SEV-SNP uses consolidated read-only firmware and does not require an EFI disk',
    });
    // scsi0 was created first and removed again
    expect(existsSync(join(r, 'images', '9302')) ? readdirSync(join(r, 'images', '9302')) : []).toEqual([]);
  });

  it('names a missing storage and a storage without images', async () => {
    const r = root();
    writeFileSync(
      join(r, 'storage.cfg'),
      `dir: local\n\tpath ${join(r, 'images')}\n\tcontent images,iso\n\ndir: isos\n\tpath ${join(r, 'iso')}\n\tcontent iso\n`,
    );
    await expect(allocateDriveVolumes({ root: r, vmid: 9303, conf: { scsi0: 'nope:1' }, keys: ['scsi0'] })).rejects.toMatchObject({
      code: 'STORAGE',
      message: "storage 'nope' does not exist",
    });
    await expect(allocateDriveVolumes({ root: r, vmid: 9303, conf: { scsi0: 'isos:1' }, keys: ['scsi0'] })).rejects.toMatchObject({
      message: "storage 'isos' does not support vm images",
    });
    const ok = await allocateDriveVolumes({ root: r, vmid: 9303, conf: { scsi0: 'local:1' }, keys: ['scsi0'] });
    expect(existsSync(join(r, 'images', 'images', '9303', 'vm-9303-disk-0.raw'))).toBe(true);
    expect(ok.scsi0).toBe('local:9303/vm-9303-disk-0.raw,size=1G');
  });

  it('destroyVolumes removes the referenced and the unreferenced volumes of the VM only', async () => {
    const r = root();
    const conf = await allocateDriveVolumes({
      root: r,
      vmid: 9304,
      conf: { scsi0: 'local:0.01', unused0: 'local:0.01' },
      keys: ['scsi0', 'unused0'],
    });
    await allocateDriveVolumes({ root: r, vmid: 9305, conf: { scsi0: 'local:0.01' }, keys: ['scsi0'] });
    writeFileSync(join(r, 'images', '9304', 'vm-9304-disk-7.raw'), ''); // left over, not in the config
    await destroyVolumes({ root: r, vmid: 9304, conf: { scsi0: conf.scsi0 as string } });
    expect(existsSync(join(r, 'images', '9304'))).toBe(false);
    expect(readdirSync(join(r, 'images', '9305'))).toEqual(['vm-9305-disk-0.raw']);
  });
});
