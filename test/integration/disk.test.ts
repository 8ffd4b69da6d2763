/**
 * Disk import, resize and move with the real qemu-img (and QEMU under TCG for the online
 * resize). import-from: a qcow2 file and a VM volume become new volumes of the target format
 * with their data and size, with progress lines; the special syntax and efidisk/tpmstate
 * requirements are checked before anything is created, and an image with a backing file is
 * refused. resize: qm's +N/N rules and texts, offline with qemu-img, online with block_resize
 * (the guest-visible size changes). move: a copy on the target in the requested format, the
 * source kept as unusedN or freed with --delete, same-storage-same-format refused (moving the
 * disk of a running VM: disk-mirror.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { startVm, stopVm } from '../../src/run/index.js';
import { diskMove } from '../../src/storage/move.js';
import { diskResize } from '../../src/storage/resize.js';
import { createVm, updateVm } from '../../src/store/vm-ops.js';
import { makeTestRoot, QEMU_BINARY, QEMU_IMG, SKIP_REASON } from './helpers.js';

const r = makeTestRoot('cvmctl-disk-');
afterAll(() => r.cleanup());
const conf = (vmid: number) => readFileSync(join(r.root, 'qemu-server', `${vmid}.conf`), 'utf8');
const image = (vmid: number, name: string) => join(r.root, 'images', String(vmid), name);
const info = (path: string) =>
  JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' })) as {
    format: string;
    'virtual-size': number;
  };
const hasPattern = (path: string, fmt: string, byte: number) =>
  !/Pattern verification failed/.test(
    execFileSync('qemu-io', ['-r', '-U', '-f', fmt, '-c', `read -P ${byte} 0 1M`, path], { encoding: 'utf8' }),
  );
const expectCvmError = (p: Promise<unknown>, code: string, message: string) => expect(p).rejects.toMatchObject({ code, message });

const source = join(r.logs, 'source.qcow2');
const MiB = 1024 * 1024;

describe.skipIf(!QEMU_IMG || !QEMU_BINARY)(
  `disk import, resize, move${QEMU_IMG && QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    it('imports a qcow2 file and a VM volume with import-from', async () => {
      execFileSync('qemu-img', ['create', '-f', 'qcow2', source, '48M']);
      execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 1M', source]);
      const lines: string[] = [];
      await createVm({
        root: r.root,
        vmid: 9701,
        params: { scsi0: `local:0,import-from=${source}`, scsi1: `local:0,format=qcow2,import-from=${source}` },
        warn: () => {},
        info: (line) => lines.push(line),
      });
      // create_disks' lines in sorted key order: a path import shows only qemu-img's progress, then the new drive
      const created = lines.filter((l) => !l.startsWith('transferred '));
      expect(created).toEqual([
        "scsi0: successfully created disk 'local:9701/vm-9701-disk-0.raw,size=48M'",
        "scsi1: successfully created disk 'local:9701/vm-9701-disk-1.qcow2,size=48M'",
      ]);
      expect(lines).toContain('transferred 48.00 MiB of 48.00 MiB (100.00%)');
      // the config records the imported size
      expect(conf(9701)).toMatch(/^scsi0: local:9701\/vm-9701-disk-0\.raw,size=48M$/m);
      expect(conf(9701)).toMatch(/^scsi1: local:9701\/vm-9701-disk-1\.qcow2,size=48M$/m);
      expect(info(image(9701, 'vm-9701-disk-0.raw'))).toMatchObject({ format: 'raw', 'virtual-size': 48 * MiB });
      expect(hasPattern(image(9701, 'vm-9701-disk-0.raw'), 'raw', 0x5a)).toBe(true);
      expect(hasPattern(image(9701, 'vm-9701-disk-1.qcow2'), 'qcow2', 0x5a)).toBe(true);

      // a volume of a VM as the source: clone_disk's lines, naming the drive the owner VM has it on
      lines.length = 0;
      await updateVm({
        root: r.root,
        vmid: 9701,
        params: { virtio0: 'local:0,import-from=local:9701/vm-9701-disk-1.qcow2' },
        info: (line) => lines.push(line),
      });
      expect(conf(9701)).toMatch(/^virtio0: local:9701\/vm-9701-disk-2\.raw,size=48M$/m);
      expect(hasPattern(image(9701, 'vm-9701-disk-2.raw'), 'raw', 0x5a)).toBe(true);
      expect(lines.filter((l) => !l.startsWith('transferred '))).toEqual([
        'create full clone of drive scsi1 (local:9701/vm-9701-disk-1.qcow2)',
        "allocated target volume 'local:9701/vm-9701-disk-2.raw'",
        "virtio0: successfully created disk 'local:9701/vm-9701-disk-2.raw,size=48M'",
      ]);
      expect(lines.at(-2)).toBe('transferred 48.00 MiB of 48.00 MiB (100.00%)');
      // an image no VM config uses: no drive name
      const { allocateDriveVolumes } = await import('../../src/storage/alloc.js');
      lines.length = 0;
      await allocateDriveVolumes({
        root: r.root,
        vmid: 9799,
        conf: { scsi0: 'local:0,import-from=local:9701/vm-9701-disk-2.raw' },
        keys: ['scsi0'],
        log: (l) => lines.push(l),
        sourceDriveName: async () => undefined,
      });
      expect(lines[0]).toBe('create full clone of drive (local:9701/vm-9701-disk-2.raw)');
      rmSync(join(r.root, 'images', '9799'), { recursive: true, force: true });
    });

    it('checks import-from syntax and sources before creating anything', async () => {
      const before = conf(9701);
      await expectCvmError(
        updateVm({ root: r.root, vmid: 9701, params: { scsi3: `local:1,import-from=${source}` } }),
        'PARAM_INVALID',
        "scsi3: 'import-from' requires special syntax - use <storage ID>:0,import-from=<source>",
      );
      await expectCvmError(
        updateVm({ root: r.root, vmid: 9701, params: { tpmstate0: `local:0,import-from=${source}` } }),
        'PARAM_INVALID',
        "tpmstate0: need to specify 'version' when using 'import-from'",
      );
      await expectCvmError(
        updateVm({ root: r.root, vmid: 9701, params: { efidisk0: `local:0,efitype=4m,import-from=${source}` } }),
        'PARAM_INVALID',
        "efidisk0: need to specify 'pre-enrolled-keys' when using 'import-from'",
      );
      // drive_is_cloudinit on the source volume id, as $import_from_volid checks it
      await expectCvmError(
        updateVm({ root: r.root, vmid: 9701, params: { scsi3: 'local:0,import-from=local:9701/vm-9701-cloudinit.qcow2' } }),
        'STORAGE',
        'cannot import from cloudinit disk',
      );
      const layered = join(r.logs, 'layered.qcow2');
      execFileSync('qemu-img', ['create', '-f', 'qcow2', '-b', source, '-F', 'qcow2', layered]);
      await expectCvmError(
        updateVm({ root: r.root, vmid: 9701, params: { scsi3: `local:0,import-from=${layered}` } }),
        'STORAGE',
        `${layered}: image has a backing file '${source}' - not allowed for an import`,
      );
      expect(conf(9701)).toBe(before);
      expect(existsSync(image(9701, 'vm-9701-disk-3.raw'))).toBe(false);
    });

    it("resizes offline with qm's rules", async () => {
      const ctx = await r.context();
      await diskResize(ctx, 9701, 'scsi0', '+16M');
      expect(conf(9701)).toMatch(/^scsi0: local:9701\/vm-9701-disk-0\.raw,size=64M$/m);
      expect(info(image(9701, 'vm-9701-disk-0.raw'))['virtual-size']).toBe(64 * MiB);
      await diskResize(ctx, 9701, 'scsi1', '0.125G');
      expect(info(image(9701, 'vm-9701-disk-1.qcow2'))['virtual-size']).toBe(128 * MiB);
      expect(conf(9701)).toMatch(/^scsi1: local:9701\/vm-9701-disk-1\.qcow2,size=128M$/m);
      const before = conf(9701);
      await expect(diskResize(ctx, 9701, 'scsi1', '128M')).resolves.toEqual({ oldSize: 128 * MiB, newSize: 128 * MiB });
      expect(conf(9701)).toBe(before);
      await expectCvmError(diskResize(ctx, 9701, 'scsi1', '64M'), 'PARAM_INVALID', 'shrinking disks is not supported');
      await expectCvmError(diskResize(ctx, 9701, 'sata3', '1G'), 'PARAM_INVALID', "disk 'sata3' does not exist");
      await expectCvmError(
        diskResize(ctx, 9701, 'scsi1', '-1G'),
        'PARAM_INVALID',
        expect.stringMatching(/^size: value does not match the regex pattern/) as unknown as string,
      );
      expect(conf(9701)).toBe(before);
    });

    it('moves a disk to another format, keeping or freeing the source', async () => {
      const ctx = await r.context();
      const lines: string[] = [];
      await diskMove(ctx, 9701, 'scsi1', 'local', { format: 'raw', log: (l) => lines.push(l) });
      expect(conf(9701)).toMatch(/^scsi1: local:9701\/vm-9701-disk-3\.raw,size=128M$/m);
      expect(conf(9701)).toMatch(/^unused0: local:9701\/vm-9701-disk-1\.qcow2$/m);
      expect(hasPattern(image(9701, 'vm-9701-disk-3.raw'), 'raw', 0x5a)).toBe(true);
      expect(lines[0]).toBe("copying volume 'local:9701/vm-9701-disk-1.qcow2' from current storage 'local' to target storage 'local'");
      expect(lines.at(-1)).toBe("adding source volume 'local:9701/vm-9701-disk-1.qcow2' as 'unused0' to config");

      await diskMove(ctx, 9701, 'scsi0', 'local', { format: 'qcow2', delete: true });
      // disk-0 is still taken while copying: the copy gets the next free number
      expect(conf(9701)).toMatch(/^scsi0: local:9701\/vm-9701-disk-4\.qcow2,size=64M$/m);
      expect(existsSync(image(9701, 'vm-9701-disk-0.raw'))).toBe(false);
      expect(info(image(9701, 'vm-9701-disk-4.qcow2')).format).toBe('qcow2');
      await expectCvmError(diskMove(ctx, 9701, 'scsi0', 'local'), 'PARAM_INVALID', "you can't move to the same storage with same format");
      await expectCvmError(diskMove(ctx, 9701, 'scsi0', 'nowhere', { format: 'raw' }), 'STORAGE', "storage 'nowhere' does not exist");
    });

    it('grows the disk of a running VM through block_resize', { timeout: 120_000 }, async () => {
      await createVm({ root: r.root, vmid: 9702, params: { kvm: '0', memory: '64', vga: 'none', scsi0: 'local:1,format=qcow2' } });
      const ctx = await r.context();
      const started = await startVm(ctx, 9702, { timeoutSec: 60 });
      r.track(started.pid);
      await diskResize(ctx, 9702, 'scsi0', '+1G');
      const qmp = await QmpClient.connect(join(r.root, 'run', '9702.qmp'));
      try {
        const blocks = await qmp.execute<{ inserted?: { 'node-name': string; image: { 'virtual-size': number } } }[]>('query-block');
        const scsi0 = blocks.find((b) => b.inserted?.['node-name'] === 'drive-scsi0');
        expect(scsi0?.inserted?.image['virtual-size']).toBe(2 * 1024 * MiB);
      } finally {
        qmp.destroy();
      }
      expect(conf(9702)).toMatch(/^scsi0: local:9702\/vm-9702-disk-0\.qcow2,size=2G$/m);
      await stopVm(ctx, 9702, { timeoutSec: 10 });
      expect(info(image(9702, 'vm-9702-disk-0.qcow2'))['virtual-size']).toBe(2 * 1024 * MiB);
    });
  },
);
