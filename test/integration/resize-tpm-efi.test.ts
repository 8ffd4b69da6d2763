/**
 * `disk resize` of the TPM state and the EFI vars disk, running and stopped, with the real QEMU
 * under TCG, swtpm and qemu-storage-daemon, against qemu-server's resize_vm: a running VM's
 * tpmstate0 is not a block node of its QEMU (swtpm, or the storage daemon for a qcow2 one, has
 * it open) and is refused with `no block node inserted for drive 'tpmstate0'`; a running VM's
 * raw efidisk0 is a fixed-size raw node and QEMU refuses it (`VM <vmid> qmp command
 * 'block_resize' failed - Cannot resize fixed-size raw disks`); a qcow2 one grows through
 * block_resize. Refusals change neither the config nor the volume; a stopped VM's volumes grow
 * with qemu-img and the config records the size.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startVm, stopVm } from '../../src/run/index.js';
import { diskResize, qdevIdToDriveId } from '../../src/storage/resize.js';
import { createVm } from '../../src/store/vm-ops.js';
import { runningQsd, runningSwtpm, swtpmPaths } from '../../src/tpm/index.js';
import { makeTestRoot, QEMU_BINARY, SKIP_REASON, TPM_SKIP_REASON, TPM_TOOLS } from './helpers.js';

const ready = QEMU_BINARY && TPM_TOOLS;
const why = !QEMU_BINARY ? SKIP_REASON : TPM_SKIP_REASON;

const r = makeTestRoot('cvmctl-rstpm-');
const vmids = [9621, 9622];
afterAll(async () => {
  // stop (not just kill): a killed storage daemon leaves its FUSE mount behind
  const ctx = await r.context();
  for (const vmid of vmids) await stopVm(ctx, vmid, { timeoutSec: 10 }).catch(() => undefined);
  r.cleanup();
});
const runDir = join(r.root, 'run');
const conf = (vmid: number) => readFileSync(join(r.root, 'qemu-server', `${vmid}.conf`), 'utf8');
const line = (vmid: number, key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(conf(vmid))?.[1];
const virtualSize = (path: string) =>
  (JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' })) as { 'virtual-size': number })[
    'virtual-size'
  ];
const MiB = 1024 * 1024;

describe('qdev ids of query-block as drive ids (qdev_id_to_drive_id)', () => {
  it('maps virtio-blk backends and the OVMF flashes, keeps SCSI/SATA/IDE ids', () => {
    expect(qdevIdToDriveId('/machine/peripheral/virtio3/virtio-backend')).toBe('virtio3');
    expect(qdevIdToDriveId('/machine/system.flash1')).toBe('efidisk0');
    expect(qdevIdToDriveId('/machine/virt.flash1')).toBe('efidisk0');
    expect(qdevIdToDriveId('/machine/system.flash0')).toBe('pflash0');
    expect(qdevIdToDriveId('scsi0')).toBe('scsi0');
    expect(qdevIdToDriveId('/machine/system.flash2')).toBe('/machine/system.flash2');
  });
});

describe.skipIf(!ready)(`disk resize of tpmstate0 and efidisk0${ready ? '' : ` (skipped: ${why})`}`, () => {
  for (const [vmid, format] of [
    [9621, 'raw'],
    [9622, 'qcow2'],
  ] as const) {
    it(`${format} volumes: refused or grown while running as in qemu-server, grown when stopped`, { timeout: 180_000 }, async () => {
      await createVm({
        root: r.root,
        vmid,
        params: {
          kvm: '0',
          memory: '128',
          vga: 'none',
          bios: 'ovmf',
          efidisk0: `local:1,efitype=4m,format=${format}`,
          tpmstate0: `local:1,format=${format},version=v2.0`,
        },
      });
      const efi = join(r.root, 'images', String(vmid), `vm-${vmid}-disk-0.${format}`);
      const tpm = join(r.root, 'images', String(vmid), `vm-${vmid}-disk-1.${format}`);
      const ctx = await r.context();
      const started = await startVm(ctx, vmid, { timeoutSec: 120 });
      r.track(started.pid);
      r.track((await runningSwtpm(swtpmPaths(runDir, vmid))) as number);
      if (format === 'qcow2') r.track((await runningQsd(runDir, vmid)) as number);

      const before = conf(vmid);
      const tpmSize = virtualSize(tpm);
      await expect(diskResize(ctx, vmid, 'tpmstate0', '+1M')).rejects.toMatchObject({
        code: 'VM_RUNNING',
        message: "no block node inserted for drive 'tpmstate0'",
      });
      expect(virtualSize(tpm)).toBe(tpmSize);
      expect(conf(vmid)).toBe(before);

      const efiSize = virtualSize(efi);
      if (format === 'raw') {
        await expect(diskResize(ctx, vmid, 'efidisk0', '+1M')).rejects.toMatchObject({
          code: 'QMP_ERROR',
          message: `VM ${vmid} qmp command 'block_resize' failed - Cannot resize fixed-size raw disks`,
        });
        expect(virtualSize(efi)).toBe(efiSize);
        expect(conf(vmid)).toBe(before);
      } else {
        expect(await diskResize(ctx, vmid, 'efidisk0', '+1M')).toEqual({ oldSize: efiSize, newSize: efiSize + MiB });
        expect(virtualSize(efi)).toBe(efiSize + MiB);
        expect(line(vmid, 'efidisk0')).toBe(`local:${vmid}/vm-${vmid}-disk-0.qcow2,efitype=4m,size=${(efiSize + MiB) / 1024}K`);
      }

      await stopVm(ctx, vmid, { timeoutSec: 20 });
      // stopped: qemu-img resize, the new size in the drive (swtpm may have shortened a raw state file to its content)
      const efiStopped = virtualSize(efi);
      const tpmStopped = virtualSize(tpm);
      expect(await diskResize(ctx, vmid, 'efidisk0', '+1M')).toEqual({ oldSize: efiStopped, newSize: efiStopped + MiB });
      expect(await diskResize(ctx, vmid, 'tpmstate0', '+1M')).toEqual({ oldSize: tpmStopped, newSize: tpmStopped + MiB });
      expect(virtualSize(efi)).toBe(efiStopped + MiB);
      expect(virtualSize(tpm)).toBe(tpmStopped + MiB);
      expect(line(vmid, 'efidisk0')).toMatch(
        new RegExp(`^local:${vmid}/vm-${vmid}-disk-0\\.${format},efitype=4m,size=${(efiStopped + MiB) / 1024}K$`),
      );
      expect(line(vmid, 'tpmstate0')).toMatch(new RegExp(`^local:${vmid}/vm-${vmid}-disk-1\\.${format},size=\\d+[KM]?,version=v2\\.0$`));
    });
  }
});
