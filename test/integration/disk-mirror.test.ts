/**
 * Moving disks of a running VM (real QEMU 10 under TCG, real qemu-img/qemu-io): a qcow2 scsi0
 * and a virtio0 with known data are mirrored to a second dir storage (qcow2 → qcow2 with a
 * bandwidth limit, qcow2 → raw with --delete). Checked: qemu-server's task lines, that QEMU
 * now reads the new files and has let go of the old ones, the config (new volume, unusedN or
 * the source freed), and after the VM stops, that the copies hold the same data. Failures: a
 * target that cannot be allocated and a mirror job that QEMU ends early leave the config, the
 * storages and the running VM as they were. A VM started with `-drive` (machine 9.2) is moved
 * with drive-mirror and the same lines under the job name `drive-scsi0`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { startVm, stopVm } from '../../src/run/index.js';
import type { LifecycleContext } from '../../src/run/index.js';
import { diskMove } from '../../src/storage/move.js';
import { createVm } from '../../src/store/vm-ops.js';
import { alive, makeTestRoot, QEMU_BINARY, QEMU_IMG, SKIP_REASON } from './helpers.js';

const r = makeTestRoot('cvmctl-mirror-');
afterAll(() => r.cleanup());
const second = join(r.root, 'second');
const broken = join(r.root, 'broken');
const conf = (vmid: number) => readFileSync(join(r.root, 'qemu-server', `${vmid}.conf`), 'utf8');
const localImage = (vmid: number, name: string) => join(r.root, 'images', String(vmid), name);
const secondImage = (vmid: number, name: string) => join(second, 'images', String(vmid), name);
const write = (path: string, fmt: string, byte: number, offset: string, len: string) =>
  execFileSync('qemu-io', ['-f', fmt, '-c', `write -P ${byte} ${offset} ${len}`, path]);
/** `qemu-img compare`: exit 0 when both images read the same (sizes must match). */
const sameData = (a: string, b: string) => spawnSync('qemu-img', ['compare', '-U', a, b], { encoding: 'utf8' });

async function withQmp<T>(vmid: number, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await QmpClient.connect(join(r.root, 'run', `${vmid}.qmp`));
  try {
    return await fn(qmp);
  } finally {
    await qmp.close();
  }
}
/** The image files QEMU has open now (file protocol nodes). */
const openFiles = (vmid: number) =>
  withQmp(vmid, async (qmp) =>
    (await qmp.execute<{ drv: string; file: string }[]>('query-named-block-nodes', { flat: true }))
      .filter((n) => n.drv === 'file')
      .map((n) => n.file)
      .sort(),
  );
/** qemu-io through the running VM's drive: reads what the guest would read. */
const hmpRead = (vmid: number, drive: string, byte: number, len: string) =>
  withQmp(vmid, (qmp) => qmp.execute<string>('human-monitor-command', { 'command-line': `qemu-io ${drive} "read -P ${byte} 0 ${len}"` }));

const PROGRESS =
  /^mirror-(scsi0|virtio0): transferred \d+\.\d (B|KiB|MiB|GiB) of \d+\.\d (B|KiB|MiB|GiB) \(\d+\.\d\d%\) in (\d+m )?\d+s(, ready)?$/;

describe.skipIf(!QEMU_IMG || !QEMU_BINARY)(
  `disk move of a running VM${QEMU_IMG && QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    let ctx: LifecycleContext;
    beforeAll(async () => {
      mkdirSync(second, { recursive: true });
      mkdirSync(join(broken, 'images'), { recursive: true });
      // the VM's image dir cannot be made on 'broken': allocation there fails
      writeFileSync(join(broken, 'images', '9801'), 'not a directory');
      writeFileSync(
        join(r.root, 'storage.cfg'),
        `dir: local\n\tpath ${r.root}\n\tcontent images,iso\n\ndir: second\n\tpath ${second}\n\tcontent images\n\tbwlimit move=65536,restore=1\n\ndir: broken\n\tpath ${broken}\n\tcontent images\n\ncifs: smb\n\tpath ${broken}-smb\n\tserver 127.0.0.1\n\tshare vms\n\tcontent images\n`,
      );
      await createVm({
        root: r.root,
        vmid: 9801,
        params: { kvm: '0', memory: '64', vga: 'none', scsi0: 'local:0.03125,format=qcow2', virtio0: 'local:0.03125,format=qcow2' },
      });
      write(localImage(9801, 'vm-9801-disk-0.qcow2'), 'qcow2', 0xab, '0', '8M');
      write(localImage(9801, 'vm-9801-disk-1.qcow2'), 'qcow2', 0xcd, '0', '4M');
      write(localImage(9801, 'vm-9801-disk-1.qcow2'), 'qcow2', 0x11, '16M', '1M');
      // --delete frees virtio0's source: keep a copy to compare with
      cpSync(localImage(9801, 'vm-9801-disk-1.qcow2'), join(r.logs, 'virtio0-before.qcow2'));
      ctx = await r.context();
      r.track((await startVm(ctx, 9801, { timeoutSec: 60 })).pid);
    }, 120_000);

    it('mirrors the qcow2 scsi0 to another storage with a bandwidth limit and switches the VM to it', { timeout: 120_000 }, async () => {
      const lines: string[] = [];
      const started = Date.now();
      // the CLI runs as root, who may override the storage's limit (65536)
      const res = await diskMove(ctx, 9801, 'scsi0', 'second', { bwlimit: 8192, log: (l) => lines.push(l), pollMs: 200 });
      const seconds = (Date.now() - started) / 1000;
      expect(res.volid).toBe('second:9801/vm-9801-disk-0.qcow2');
      const progress = lines.filter((l) => l.includes(': transferred '));
      const rest = lines.filter((l) => !l.includes(': transferred '));
      expect(rest).toEqual([
        "copying volume 'local:9801/vm-9801-disk-0.qcow2' from current storage 'local' to target storage 'second'",
        'create full clone of drive scsi0 (local:9801/vm-9801-disk-0.qcow2)',
        "allocated target volume 'second:9801/vm-9801-disk-0.qcow2'",
        'drive mirror is starting for drive-scsi0 with bandwidth limit: 8192 KiB/s',
        "all 'mirror' jobs are ready",
        'mirror-scsi0: Completing block job...',
        'mirror-scsi0: Completed successfully.',
        'mirror-scsi0: mirror-job finished',
        "adding source volume 'local:9801/vm-9801-disk-0.qcow2' as 'unused0' to config",
      ]);
      // progress lines come between the start and the ready line; the last one says ready at 100 %
      expect(lines.indexOf(progress[0] as string)).toBe(4);
      for (const line of progress) expect(line).toMatch(PROGRESS);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.at(-1)).toMatch(/ \(100\.00%\) in .*, ready$/);
      // stock QEMU has no zeroinit filter: all 32 MiB are copied, at 8 MiB/s that takes about 4 s
      expect(seconds).toBeGreaterThan(3);

      expect(conf(9801)).toMatch(/^scsi0: second:9801\/vm-9801-disk-0\.qcow2,size=32M$/m);
      expect(conf(9801)).toMatch(/^unused0: local:9801\/vm-9801-disk-0\.qcow2$/m);
      const files = await openFiles(9801);
      expect(files).toContain(secondImage(9801, 'vm-9801-disk-0.qcow2'));
      expect(files).not.toContain(localImage(9801, 'vm-9801-disk-0.qcow2'));
      // the guest reads the data through the new chain; the throttle node is still the drive's top
      expect(await hmpRead(9801, 'drive-scsi0', 0xab, '8M')).not.toMatch(/Pattern verification failed/);
      const top = await withQmp(9801, (qmp) =>
        qmp.execute<{ qdev?: string; inserted?: { 'node-name': string; drv: string; file: string } }[]>('query-block'),
      );
      expect(top.find((b) => b.inserted?.['node-name'] === 'drive-scsi0')?.inserted?.drv).toBe('throttle');
      expect(await withQmp(9801, (qmp) => qmp.execute<unknown[]>('query-block-jobs'))).toEqual([]);
    });

    it('mirrors virtio0 from qcow2 to raw and frees the source with --delete', { timeout: 120_000 }, async () => {
      const lines: string[] = [];
      await diskMove(ctx, 9801, 'virtio0', 'second', { format: 'raw', delete: true, log: (l) => lines.push(l), pollMs: 200 });
      // no --bwlimit: the target storage's `bwlimit move=` applies (the CLI's own request above overrode it)
      expect(lines).toContain('drive mirror is starting for drive-virtio0 with bandwidth limit: 65536 KiB/s');
      expect(lines.filter((l) => PROGRESS.test(l)).at(-1)).toMatch(/^mirror-virtio0: .*\(100\.00%\).*, ready$/);
      expect(lines.at(-1)).toBe("removing source volume 'local:9801/vm-9801-disk-1.qcow2' after successful copy");
      expect(conf(9801)).toMatch(/^virtio0: second:9801\/vm-9801-disk-1\.raw,size=32M$/m);
      expect(conf(9801)).not.toMatch(/^unused1:/m);
      expect(existsSync(localImage(9801, 'vm-9801-disk-1.qcow2'))).toBe(false);
      const files = await openFiles(9801);
      expect(files).toContain(secondImage(9801, 'vm-9801-disk-1.raw'));
      expect(files).not.toContain(localImage(9801, 'vm-9801-disk-1.qcow2'));
    });

    it('leaves everything as it was when the target cannot be allocated', { timeout: 60_000 }, async () => {
      const before = conf(9801);
      const filesBefore = await openFiles(9801);
      await expect(diskMove(ctx, 9801, 'scsi0', 'broken', { pollMs: 200 })).rejects.toMatchObject({
        code: 'STORAGE',
        message: expect.stringMatching(/^storage migration failed: [^\n]+$/),
      });
      expect(conf(9801)).toBe(before);
      expect(await openFiles(9801)).toEqual(filesBefore);
      expect(readdirSync(join(broken, 'images'))).toEqual(['9801']);
    });

    it('cancels and cleans up when QEMU ends the mirror job early', { timeout: 120_000 }, async () => {
      const before = conf(9801);
      const filesBefore = await openFiles(9801);
      const lines: string[] = [];
      let cancelled: Promise<unknown> | undefined;
      const move = diskMove(ctx, 9801, 'scsi0', 'local', {
        format: 'raw',
        bwlimit: 2048,
        pollMs: 200,
        log: (l) => {
          lines.push(l);
          // someone else stops the job while it copies (16 s at 2 MiB/s)
          if (l.startsWith('drive mirror is starting'))
            cancelled = new Promise((ok) => setTimeout(ok, 1500)).then(() =>
              withQmp(9801, (qmp) => qmp.execute('block-job-cancel', { device: 'mirror-scsi0', force: true })),
            );
        },
      });
      await expect(move).rejects.toMatchObject({
        code: 'STORAGE',
        message: expect.stringMatching(/^storage migration failed: block job \(mirror\) error: mirror-scsi0: [^\n]+ \(io-status: \w+\)$/),
      });
      await cancelled;
      const allocated = /^allocated target volume 'local:9801\/(vm-9801-disk-\d+\.raw)'$/.exec(lines[2] ?? '')?.[1] as string;
      expect(allocated).toBeDefined();
      expect(lines.some((l) => PROGRESS.test(l))).toBe(true);
      expect(lines.slice(-2)).toEqual(['mirror-scsi0: Cancelling block job', 'mirror-scsi0: Done.']);
      expect(conf(9801)).toBe(before);
      // the allocated target is freed, its node gone, the VM still on the old files
      expect(existsSync(localImage(9801, allocated))).toBe(false);
      expect(await openFiles(9801)).toEqual(filesBefore);
      expect(await withQmp(9801, (qmp) => qmp.execute<unknown[]>('query-block-jobs'))).toEqual([]);
    });

    it('refuses to move the TPM state of a running VM', async () => {
      // qemu-server refuses before any volume is allocated: a config entry is enough to reach the check
      // (a set would stay pending while the VM runs, so the entry is written into the file)
      const original = conf(9801);
      const before = `tpmstate0: local:9801/vm-9801-disk-0.qcow2,size=4M,version=v2.0\n${original}`;
      r.writeConfig(9801, before);
      try {
        await expect(diskMove(ctx, 9801, 'tpmstate0', 'second')).rejects.toMatchObject({
          code: 'VM_RUNNING',
          message: 'storage migration failed: cannot move TPM state while VM is running',
        });
        expect(conf(9801)).toBe(before);
        expect(readdirSync(join(second, 'images', '9801')).sort()).toEqual(['vm-9801-disk-0.qcow2', 'vm-9801-disk-1.raw']);
      } finally {
        r.writeConfig(9801, original);
      }
    });

    it('refuses a target storage that breaks with io_uring when the drive uses it (bug #4525)', async () => {
      // as with the TPM state, an entry in the file reaches the check (a set would stay pending)
      const original = conf(9801);
      const before = original.replace(/^(scsi0: [^\n]*)$/m, '$1,aio=io_uring');
      r.writeConfig(9801, before);
      try {
        await expect(diskMove(ctx, 9801, 'scsi0', 'smb')).rejects.toMatchObject({
          code: 'STORAGE',
          message: 'storage migration failed: target storage is known to cause issues with aio=io_uring (used by current drive)',
        });
        expect(conf(9801)).toBe(before);
        expect(existsSync(`${broken}-smb`)).toBe(false);
      } finally {
        r.writeConfig(9801, original);
      }
    });

    it('the CLI stops a mirror on SIGINT, cancels the job and frees the new volume', { timeout: 120_000 }, async () => {
      const before = conf(9801);
      const filesBefore = await openFiles(9801);
      const child = spawn(
        process.execPath,
        [resolve('bin/cvmctl'), '--root', r.root, 'disk', 'move', '9801', 'scsi0', 'local', '--format', 'raw', '--bwlimit', '2048'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const progressing = new Promise<void>((ok) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          if (/^mirror-scsi0: transferred /m.test(stdout)) ok();
        });
      });
      const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
      await Promise.race([progressing, exited]);
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      // qemu_blockjobs_cancel warns with the error QEMU reports for the job it cancelled, then the one error line
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^WARN: mirror-scsi0: .+ \(io-status: \w+\)$/),
        expect.stringMatching(/storage migration failed: block job \(mirror\) error: interrupted by signal$/),
      ]);
      expect(stdout.trim().split('\n').slice(-2)).toEqual(['mirror-scsi0: Cancelling block job', 'mirror-scsi0: Done.']);
      const allocated = /^allocated target volume 'local:9801\/(vm-9801-disk-\d+\.raw)'$/m.exec(stdout)?.[1] as string;
      expect(allocated).toBeDefined();
      expect(existsSync(localImage(9801, allocated))).toBe(false);
      expect(conf(9801)).toBe(before);
      expect(await openFiles(9801)).toEqual(filesBefore);
      expect(await withQmp(9801, (qmp) => qmp.execute<unknown[]>('query-block-jobs'))).toEqual([]);
    });

    it('asks the guest agent to trim after a move when fstrim_cloned_disks is set, warns when it does not answer', {
      timeout: 120_000,
    }, async () => {
      // the SeaBIOS guest has no agent: a stand-in on the VM's agent socket records what it is asked
      // and what the config says then; the agent line goes into the file (a set would stay pending)
      const agentPath = join(r.root, 'run', '9801.qga');
      const seen: { command: string; scsi0?: string }[] = [];
      const agent = createServer((socket) => {
        let pending = '';
        socket.on('data', (chunk) => {
          pending += chunk.toString('utf8');
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
            const { execute, arguments: args } = JSON.parse(pending.slice(0, nl)) as { execute: string; arguments?: { id?: number } };
            pending = pending.slice(nl + 1);
            if (execute === 'guest-sync-delimited') {
              socket.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify({ return: args?.id })}\n`)]));
              continue;
            }
            seen.push({ command: execute, ...(execute === 'guest-fstrim' ? { scsi0: /^scsi0: ([^,\n]+)/m.exec(conf(9801))?.[1] } : {}) });
            socket.write(`${JSON.stringify({ return: {} })}\n`);
          }
        });
      });
      await new Promise<void>((ok) => agent.listen(agentPath, ok));
      r.writeConfig(9801, `agent: 1,fstrim_cloned_disks=1\n${conf(9801)}`);
      const warnings: string[] = [];
      const wctx = { ...ctx, warn: (m: string) => warnings.push(m) };
      try {
        const moved = await diskMove(wctx, 9801, 'scsi0', 'local', { format: 'raw', pollMs: 200 });
        expect(seen).toEqual([{ command: 'guest-ping' }, { command: 'guest-fstrim', scsi0: moved.volid }]);
        expect(warnings).toEqual([]);
        await new Promise<void>((ok) => agent.close(() => ok()));
        await diskMove(wctx, 9801, 'scsi0', 'second', { format: 'qcow2', pollMs: 200 });
        expect(seen).toHaveLength(2);
        expect(warnings).toEqual([expect.stringMatching(/^QEMU Guest Agent is not running - VM 9801 qga command 'guest-ping' failed - /)]);
        expect(conf(9801)).toMatch(/^scsi0: second:9801\/vm-9801-disk-\d+\.qcow2,size=32M$/m);
      } finally {
        agent.close();
        r.writeConfig(9801, conf(9801).replace(/^agent: .*\n/m, ''));
      }
    });

    it('holds the same data in the copies after the VM stopped', { timeout: 60_000 }, async () => {
      const pid = Number(readFileSync(join(r.root, 'run', '9801.pid'), 'utf8'));
      await stopVm(ctx, 9801, { timeoutSec: 10 });
      expect(alive(pid)).toBe(false);
      const scsi = sameData(localImage(9801, 'vm-9801-disk-0.qcow2'), secondImage(9801, 'vm-9801-disk-0.qcow2'));
      expect(scsi.stdout).toMatch(/Images are identical/);
      expect(scsi.status).toBe(0);
      const virtio = sameData(join(r.logs, 'virtio0-before.qcow2'), secondImage(9801, 'vm-9801-disk-1.raw'));
      expect(virtio.stdout).toMatch(/Images are identical/);
      expect(execFileSync('qemu-img', ['info', '--output=json', secondImage(9801, 'vm-9801-disk-1.raw')], { encoding: 'utf8' })).toMatch(
        /"format": "raw"/,
      );
    });

    it('moves the EFI vars of a running OVMF VM: the raw target keeps the exact vars size', { timeout: 180_000 }, async () => {
      await createVm({
        root: r.root,
        vmid: 9803,
        params: { kvm: '0', memory: '128', vga: 'none', bios: 'ovmf', efidisk0: 'local:1,efitype=4m' },
      });
      const source = localImage(9803, 'vm-9803-disk-0.raw');
      const varsSize = statSync(source).size;
      r.track((await startVm(ctx, 9803, { timeoutSec: 120 })).pid);
      try {
        const lines: string[] = [];
        await diskMove(ctx, 9803, 'efidisk0', 'second', { log: (l) => lines.push(l), pollMs: 200 });
        expect(lines).toContain('mirror-efidisk0: mirror-job finished');
        expect(conf(9803)).toMatch(new RegExp(`^efidisk0: second:9803/vm-9803-disk-0\\.raw,efitype=4m,size=${varsSize / 1024}K$`, 'm'));
        expect(await openFiles(9803)).toContain(secondImage(9803, 'vm-9803-disk-0.raw'));
        expect(await openFiles(9803)).not.toContain(source);
      } finally {
        await stopVm(ctx, 9803, { timeoutSec: 10 });
      }
      expect(statSync(secondImage(9803, 'vm-9803-disk-0.raw')).size).toBe(varsSize);
      expect(sameData(source, secondImage(9803, 'vm-9803-disk-0.raw')).status).toBe(0);
    });

    it('moves a cloud-init drive as a fresh vm-<vmid>-cloudinit volume, no data copied', async () => {
      await createVm({ root: r.root, vmid: 9804, params: { ide2: 'local:cloudinit', scsi0: 'local:0.03125' } });
      expect(conf(9804)).toMatch(/^ide2: local:9804\/vm-9804-cloudinit\.qcow2,media=cdrom(,size=4M)?$/m);
      const lines: string[] = [];
      await diskMove(ctx, 9804, 'ide2', 'second', { format: 'raw', log: (l) => lines.push(l) });
      expect(lines).toEqual([
        "copying volume 'local:9804/vm-9804-cloudinit.qcow2' from current storage 'local' to target storage 'second'",
        'create full clone of drive ide2 (local:9804/vm-9804-cloudinit.qcow2)',
        "allocated target volume 'second:9804/vm-9804-cloudinit.raw'",
        // QemuConfig's add_unused_volume frees an old cloud-init image instead of keeping it
        "found unused cloudinit disk 'local:9804/vm-9804-cloudinit.qcow2', removing it",
        "adding source volume 'local:9804/vm-9804-cloudinit.qcow2' as '' to config",
      ]);
      expect(conf(9804)).toMatch(/^ide2: second:9804\/vm-9804-cloudinit\.raw,media=cdrom,size=4M$/m);
      expect(conf(9804)).not.toMatch(/^unused/m);
      expect(existsSync(localImage(9804, 'vm-9804-cloudinit.qcow2'))).toBe(false);
      expect(statSync(secondImage(9804, 'vm-9804-cloudinit.raw')).size).toBe(4 * 1024 * 1024);
    });

    it('mirrors with drive-mirror when the VM was started with -drive (machine 9.2)', { timeout: 120_000 }, async () => {
      await createVm({
        root: r.root,
        vmid: 9802,
        params: { kvm: '0', memory: '64', vga: 'none', machine: 'pc-i440fx-9.2', scsi0: 'local:0.03125,format=qcow2' },
      });
      write(localImage(9802, 'vm-9802-disk-0.qcow2'), 'qcow2', 0x3c, '0', '2M');
      r.track((await startVm(ctx, 9802, { timeoutSec: 60 })).pid);
      try {
        const lines: string[] = [];
        await diskMove(ctx, 9802, 'scsi0', 'second', { format: 'raw', log: (l) => lines.push(l), pollMs: 200 });
        expect(lines).toContain('drive mirror is starting for drive-scsi0 with bandwidth limit: 65536 KiB/s');
        expect(lines.filter((l) => l.startsWith('drive-scsi0: transferred ')).at(-1)).toMatch(/\(100\.00%\) in \d+s, ready$/);
        expect(lines).toContain('drive-scsi0: Completed successfully.');
        expect(lines).toContain('drive-scsi0: mirror-job finished');
        expect(conf(9802)).toMatch(/^scsi0: second:9802\/vm-9802-disk-0\.raw,size=32M$/m);
        expect(await openFiles(9802)).toContain(secondImage(9802, 'vm-9802-disk-0.raw'));
      } finally {
        await stopVm(ctx, 9802, { timeoutSec: 10 });
      }
      expect(sameData(localImage(9802, 'vm-9802-disk-0.qcow2'), secondImage(9802, 'vm-9802-disk-0.raw')).status).toBe(0);
    });
  },
);
