/**
 * Snapshots with the real qemu-img and QEMU under TCG. Offline: `[NAME]` sections as
 * qemu-server writes them (copied config, snaptime, parent chain, description comment), qcow2
 * internal snapshots on every disk, rollback restores disk contents (checked with qemu-io
 * patterns) and the config (new vmgenid, parent), delete re-points parents and removes the
 * disk snapshots. Refusals: raw disks (`snapshot feature is not available`), RAM of SEV VMs,
 * reserved and invalid names, locked VMs -- each leaves the config unchanged. Online: disk
 * snapshots over QMP on a running VM, and a RAM snapshot whose rollback resumes the guest
 * from the saved state (the BIOS tick counter carries the value of the snapshot moment, not the
 * clock's as after a fresh boot).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { startVm, stopVm } from '../../src/run/index.js';
import { snapshotCreate, snapshotDelete, snapshotList, snapshotRollback, formatSnapshotTree } from '../../src/snapshot/index.js';
import { createVm, updateVm } from '../../src/store/vm-ops.js';
import { makeTestRoot, QEMU_BINARY, readIfExists, SKIP_REASON, waitFor } from './helpers.js';

const r = makeTestRoot('cvmctl-snap-');
afterAll(() => r.cleanup());
const confPath = (vmid: number) => join(r.root, 'qemu-server', `${vmid}.conf`);
const conf = (vmid: number) => readFileSync(confPath(vmid), 'utf8');
const disk = (vmid: number, n: number) => join(r.root, 'images', String(vmid), `vm-${vmid}-disk-${n}.qcow2`);
const qemuIo = (path: string, cmd: string) => execFileSync('qemu-io', ['-f', 'qcow2', '-c', cmd, path], { encoding: 'utf8' });
const patternAt0 = (path: string, byte: number) => !/Pattern verification failed/.test(qemuIo(path, `read -P ${byte} 0 64k`));
const snapNames = (path: string) =>
  (
    (
      JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' })) as {
        snapshots?: { name: string }[];
      }
    ).snapshots ?? []
  ).map((s) => s.name);
let clock = 1_700_000_000;
const expectCvmError = (p: Promise<unknown>, code: string, message: string) => expect(p).rejects.toMatchObject({ code, message });
const now = () => ++clock;

describe.skipIf(!QEMU_BINARY)(`snapshots with qemu-img and QEMU${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('takes, lists, rolls back and deletes offline snapshots of qcow2 disks', async () => {
    await createVm({
      root: r.root,
      vmid: 9601,
      params: {
        kvm: '0',
        memory: '64',
        vga: 'none',
        scsi0: 'local:1,format=qcow2',
        virtio1: 'local:1,format=qcow2',
        ide2: 'none,media=cdrom',
      },
    });
    const ctx = await r.context();
    qemuIo(disk(9601, 0), 'write -P 0xaa 0 64k');
    const lines: string[] = [];
    await snapshotCreate(ctx, 9601, 'first', { description: 'before the upgrade\nsecond line', now, log: (l) => lines.push(l) });
    expect(lines).toEqual([
      "snapshotting 'drive-scsi0' (local:9601/vm-9601-disk-0.qcow2)",
      "snapshotting 'drive-virtio1' (local:9601/vm-9601-disk-1.qcow2)",
    ]);
    qemuIo(disk(9601, 0), 'write -P 0xbb 0 64k');
    const before = conf(9601);
    const vmgenid = /^vmgenid: (\S+)$/m.exec(before)?.[1];
    await updateVm({ root: r.root, vmid: 9601, params: { cores: '2' } });
    await snapshotCreate(ctx, 9601, 'second', { now });

    const text = conf(9601);
    // main section: parent is the newest snapshot, no lock, no snapstate
    expect(text).toMatch(/^parent: second$/m);
    expect(text).not.toMatch(/^lock:/m);
    expect(text).not.toMatch(/snapstate/);
    const first = text.slice(text.indexOf('\n[first]\n'), text.indexOf('\n[second]\n'));
    expect(first).toContain('\n[first]\n#before the upgrade\n#second line\n');
    expect(first).toMatch(/^snaptime: 1700000001$/m);
    expect(first).not.toMatch(/^cores:/m);
    expect(first).not.toMatch(/^parent:/m);
    expect(first).toMatch(/^ide2: none,media=cdrom$/m);
    const second = text.slice(text.indexOf('\n[second]\n'));
    expect(second).toMatch(/^cores: 2$/m);
    expect(second).toMatch(/^parent: first$/m);
    expect(second).toMatch(/^snaptime: 1700000002$/m);
    // sections sorted by name after the main one
    expect(text.indexOf('[first]')).toBeLessThan(text.indexOf('[second]'));
    expect(snapNames(disk(9601, 0))).toEqual(['first', 'second']);
    expect(snapNames(disk(9601, 1))).toEqual(['first', 'second']);

    const list = await snapshotList(ctx, 9601);
    expect(list.map((e) => [e.name, e.parent, e.vmstate])).toEqual([
      ['first', undefined, 0],
      ['second', 'first', 0],
      ['current', 'second', undefined],
    ]);
    const tree = formatSnapshotTree(list).split('\n');
    expect(tree[0]).toMatch(/^`-> first {23}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {5}before the upgrade$/);
    expect(tree[1]).toMatch(/^ `-> second {21}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {5}no-description$/);
    // printf('%s %-25s %-23s %s'): name padded to 30 - length('  `->'), an empty time padded to 23
    expect(tree[2]).toBe(`  \`-> ${'current'.padEnd(25)} ${''.padEnd(23)} You are here!`);

    await snapshotRollback(ctx, 9601, 'first');
    expect(patternAt0(disk(9601, 0), 0xaa)).toBe(true);
    const rolled = conf(9601);
    expect(rolled).toMatch(/^parent: first$/m);
    expect(rolled.slice(0, rolled.indexOf('\n['))).not.toMatch(/^cores:/m);
    const newGenid = /^vmgenid: (\S+)$/m.exec(rolled)?.[1];
    expect(newGenid).toMatch(/^[0-9a-f-]{36}$/);
    expect(newGenid).not.toBe(vmgenid);

    await snapshotDelete(ctx, 9601, 'first');
    const afterDelete = conf(9601);
    expect(afterDelete).not.toContain('[first]');
    expect(afterDelete).not.toMatch(/^parent:/m); // first had no parent
    expect(afterDelete.slice(afterDelete.indexOf('[second]'))).not.toMatch(/^parent:/m);
    expect(afterDelete).not.toMatch(/^unused\d+:/m);
    expect(snapNames(disk(9601, 0))).toEqual(['second']);
    expect(snapNames(disk(9601, 1))).toEqual(['second']);
  });

  it('refuses raw disks, SEV RAM snapshots, reserved names and locked VMs without changing anything', async () => {
    await createVm({ root: r.root, vmid: 9602, params: { kvm: '0', memory: '64', scsi0: 'local:1', scsi1: 'local:1,format=qcow2' } });
    const ctx = await r.context();
    const before = conf(9602);
    await expectCvmError(snapshotCreate(ctx, 9602, 'snap1'), 'STORAGE', 'snapshot feature is not available');
    expect(conf(9602)).toBe(before);
    expect(snapNames(disk(9602, 1))).toEqual([]);

    await createVm({
      root: r.root,
      vmid: 9603,
      params: { memory: '64', bios: 'ovmf', 'amd-sev': 'type=snp', scsi0: 'local:1,format=qcow2' },
    });
    await expectCvmError(
      snapshotCreate(ctx, 9603, 'ram', { vmstate: true }),
      'HOST_UNSUPPORTED',
      'Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: amd-sev',
    );
    await expectCvmError(snapshotCreate(ctx, 9603, 'current'), 'PARAM_INVALID', "unable to use snapshot name 'current' (reserved name)");
    await expectCvmError(snapshotCreate(ctx, 9603, 'Pending'), 'PARAM_INVALID', "unable to use snapshot name 'pending' (reserved name)");
    await expectCvmError(
      snapshotCreate(ctx, 9603, '9lives'),
      'PARAM_INVALID',
      "snapname: invalid format - invalid configuration ID '9lives'",
    );
    await expectCvmError(
      snapshotCreate(ctx, 9603, `s${'x'.repeat(40)}`),
      'PARAM_INVALID',
      'snapname: value may only be 40 characters long',
    );
    await expectCvmError(snapshotRollback(ctx, 9603, 'nope'), 'VM_NOT_FOUND', "snapshot 'nope' does not exist");
    // without RAM an SEV VM's disks can be snapshotted, as in qemu-server
    await snapshotCreate(ctx, 9603, 'disks');
    await expectCvmError(snapshotCreate(ctx, 9603, 'disks'), 'PARAM_INVALID', "snapshot name 'disks' already used");
    // a locked VM (here: by hand, as a backup would) is refused
    writeFileSync(confPath(9603), `lock: backup\n${conf(9603)}`);
    const locked = conf(9603);
    await expectCvmError(snapshotCreate(ctx, 9603, 'other'), 'VM_LOCKED', 'VM is locked (backup)');
    await expectCvmError(snapshotDelete(ctx, 9603, 'disks'), 'VM_LOCKED', 'VM is locked (backup)');
    expect(conf(9603)).toBe(locked);
  });

  it('snapshots a running VM over QMP and deletes the snapshot online', { timeout: 120_000 }, async () => {
    await createVm({ root: r.root, vmid: 9604, params: { kvm: '0', memory: '64', vga: 'none', scsi0: 'local:1,format=qcow2' } });
    const ctx = await r.context();
    const started = await startVm(ctx, 9604, { timeoutSec: 60 });
    r.track(started.pid);
    await snapshotCreate(ctx, 9604, 'live', { now });
    expect(snapNames(disk(9604, 0))).toEqual(['live']);
    expect(conf(9604)).toMatch(/^parent: live$/m);
    expect(conf(9604)).not.toMatch(/^vmstate:/m);
    await snapshotDelete(ctx, 9604, 'live');
    expect(snapNames(disk(9604, 0))).toEqual([]);
    expect(conf(9604)).not.toContain('[live]');
    await stopVm(ctx, 9604, { timeoutSec: 10 });
  });

  it('saves the RAM of a running VM and resumes from it on rollback', { timeout: 180_000 }, async () => {
    const debugcon = join(r.logs, 'ram-debugcon.log');
    await createVm({
      root: r.root,
      vmid: 9605,
      params: {
        kvm: '0',
        memory: '64',
        vga: 'none',
        scsi0: 'local:1,format=qcow2',
        // the BIOS stays at 'No bootable device' (qemu-server's reboot-timeout=1000 would reboot it every second)
        args: `-boot reboot-timeout=-1 -chardev file,id=dbgcon,path=${debugcon} -device isa-debugcon,iobase=0x402,chardev=dbgcon`,
      },
    });
    const ctx = await r.context();
    const started = await startVm(ctx, 9605, { timeoutSec: 60 });
    r.track(started.pid);
    const qmpPath = join(r.root, 'run', '9605.qmp');
    const dump = join(r.logs, 'ticks.bin');
    /** SeaBIOS' timer tick counter in the BIOS data area (18.2 Hz, counts from boot). */
    const ticks = async (): Promise<number> => {
      const qmp = await QmpClient.connect(qmpPath);
      try {
        await qmp.execute('pmemsave', { val: 0x46c, size: 4, filename: dump });
      } finally {
        qmp.destroy();
      }
      return readFileSync(dump).readUInt32LE(0);
    };
    // SeaBIOS counts ticks from the RTC's time of day: a fresh boot would read the clock again,
    // a restored RAM image carries the count of the moment of the snapshot
    // snapshot a guest at rest: the BIOS has given up booting (restoring one in the middle of
    // POST under TCG can trip its TSC-based timeouts into a reset)
    const settled = await waitFor(() => (/No bootable device/.test(readIfExists(debugcon)) ? true : undefined), 60_000);
    expect(settled, 'SeaBIOS never reached "No bootable device"').toBe(true);
    const beforeSnapshot = await ticks();
    const lines: string[] = [];
    await snapshotCreate(ctx, 9605, 'ram', { vmstate: true, now, log: (l) => lines.push(l) });
    const atSnapshot = await ticks();
    expect(atSnapshot).toBeGreaterThanOrEqual(beforeSnapshot);
    expect(lines).toContain("saving VM state and RAM using storage 'local'");
    const text = conf(9605);
    expect(text).toMatch(/^vmstate: local:9605\/vm-9605-state-ram\.raw$/m);
    const statePath = join(r.root, 'images', '9605', 'vm-9605-state-ram.raw');
    // allocated as 2 x memory + 500 MiB; QEMU's file migration rewrites it to the stream's length
    expect(statSync(statePath).size).toBeGreaterThan(64 * 1024);
    expect(statSync(statePath).size).toBeLessThanOrEqual((64 * 2 + 500) * 1024 * 1024);
    expect(readFileSync(statePath).subarray(0, 4).toString('latin1')).toBe('QEVM');
    // the VM kept running; wait until its clock is 10 s past the snapshot (a loaded host may take seconds between restore and the check)
    while ((await ticks()) < atSnapshot + 182) await new Promise((res) => setTimeout(res, 250));

    await snapshotRollback(ctx, 9605, 'ram');
    const restored = await ticks();
    // the new QEMU's debug console (truncated at its start) shows a BIOS banner only if it booted afresh
    expect(readFileSync(debugcon, 'utf8')).not.toMatch(/SeaBIOS \(version/);
    expect(restored).toBeGreaterThanOrEqual(beforeSnapshot);
    expect(restored).toBeLessThan(atSnapshot + 182);
    const qmp = await QmpClient.connect(qmpPath);
    try {
      expect(await qmp.execute('query-status')).toMatchObject({ status: 'running' });
    } finally {
      qmp.destroy();
    }
    await stopVm(ctx, 9605, { timeoutSec: 10 });
    await snapshotDelete(ctx, 9605, 'ram');
    expect(existsSync(statePath)).toBe(false);
    expect(snapNames(disk(9605, 0))).toEqual([]);
  });
});
