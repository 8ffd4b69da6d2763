/**
 * Snapshots of a running VM whose TPM state is a qcow2 volume, with the real QEMU under TCG,
 * swtpm and qemu-storage-daemon. The TPM state is served to swtpm by the daemon's FUSE export,
 * so its internal snapshot is taken by the daemon (qemu-server's way): `qemu-img snapshot -l`
 * of the state volume shows it next to the disk's, and the snapshot holds exactly what the
 * export showed at that moment (its content is compared with the export's bytes). A reset of
 * the guest makes the TPM change its state (SeaBIOS' TPM2_Startup after a reset), so the
 * snapshots differ; delsnapshot of the running VM removes the TPM snapshot through the daemon;
 * rollback to the RAM snapshot resumes the VM with the state of that snapshot; a TPM snapshot
 * the daemon refuses removes the disk snapshot already taken and leaves the config as it was.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { startVm, stopVm } from '../../src/run/index.js';
import { snapshotCreate, snapshotDelete, snapshotRollback } from '../../src/snapshot/index.js';
import { createVm } from '../../src/store/vm-ops.js';
import { runningQsd, runningSwtpm, swtpmPaths } from '../../src/tpm/index.js';
import { alive, cliSync, makeTestRoot, QEMU_BINARY, readIfExists, SKIP_REASON, TPM_SKIP_REASON, TPM_TOOLS, waitFor } from './helpers.js';

const ready = QEMU_BINARY && TPM_TOOLS;
const why = !QEMU_BINARY ? SKIP_REASON : TPM_SKIP_REASON;

const r = makeTestRoot('cvmctl-snaptpm-');
const vmids = [9611, 9612];
afterAll(async () => {
  // stop (not just kill) what a failed test left running: a killed storage daemon leaves its FUSE mount behind
  const ctx = await r.context();
  for (const vmid of vmids) await stopVm(ctx, vmid, { timeoutSec: 10 }).catch(() => undefined);
  r.cleanup();
});
const runDir = join(r.root, 'run');
const confPath = (vmid: number) => join(r.root, 'qemu-server', `${vmid}.conf`);
const conf = (vmid: number) => readFileSync(confPath(vmid), 'utf8');
const image = (vmid: number, n: number) => join(r.root, 'images', String(vmid), `vm-${vmid}-disk-${n}.qcow2`);
const fuse = (vmid: number) => join(runDir, `qsd-${vmid}-tpmstate0.fuse`);
/**
 * The hash of swtpm's state in a copy of the volume: its linear file header and blobs, in the first
 * 64 KiB. (swtpm truncates a regular file to the length its layout asks for when it stores, which
 * through the export changes the volume's virtual size; the state itself is what must match.)
 */
const tpmState = (data: Buffer) =>
  createHash('sha256')
    .update(data.subarray(0, 64 * 1024))
    .digest('hex');
/** `qemu-img snapshot -l -U`: the names in the qcow2 snapshot table (read while the daemon has it open). */
const snapNames = (path: string) =>
  execFileSync('qemu-img', ['snapshot', '-l', '-U', path], { encoding: 'utf8' })
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[1])
    .filter((n): n is string => Boolean(n));
/** The content of the volume as internal snapshot `name` holds it. */
const snapshotContent = (path: string, name: string) => {
  const out = join(r.logs, `content-${name}.raw`);
  execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-l', `snapshot.name=${name}`, '-O', 'raw', path, out]);
  const data = readFileSync(out);
  rmSync(out);
  return data;
};
let clock = 1_800_000_000;
const now = () => ++clock;

async function qmp<T>(vmid: number, command: string): Promise<T> {
  const client = await QmpClient.connect(join(runDir, `${vmid}.qmp`));
  try {
    return await client.execute<T>(command);
  } finally {
    client.destroy();
  }
}

describe.skipIf(!ready)(`snapshots of a running VM with a qcow2 TPM state${ready ? '' : ` (skipped: ${why})`}`, () => {
  const vmParams = (debugcon: string) => ({
    kvm: '0',
    memory: '64',
    vga: 'none',
    scsi0: 'local:1,format=qcow2',
    tpmstate0: 'local:1,format=qcow2,version=v2.0',
    // the BIOS stays at 'No bootable device' (the TPM is idle then), its messages go to the debug console
    args: `-boot reboot-timeout=-1 -chardev file,id=dbgcon,path=${debugcon} -device isa-debugcon,iobase=0x402,chardev=dbgcon`,
  });
  const bootsSettled = (debugcon: string) => (readIfExists(debugcon).match(/No bootable device/g) ?? []).length;
  const settle = async (debugcon: string, boots: number) => {
    const n = await waitFor(() => (bootsSettled(debugcon) >= boots ? boots : undefined), 120_000);
    expect(n, `SeaBIOS boot ${boots} never reached "No bootable device"`).toBe(boots);
  };

  it('snapshots the TPM state through the storage daemon, deletes it online and rolls back to it', { timeout: 420_000 }, async () => {
    const vmid = 9611;
    const debugcon = join(r.logs, `${vmid}-debugcon.log`);
    await createVm({ root: r.root, vmid, params: vmParams(debugcon) });
    expect(conf(vmid)).toMatch(/^tpmstate0: local:9611\/vm-9611-disk-1\.qcow2,size=4M,version=v2\.0$/m);
    const disk = image(vmid, 0);
    const tpm = image(vmid, 1);
    const ctx = await r.context();
    const started = await startVm(ctx, vmid, { timeoutSec: 120 });
    r.track(started.pid);
    const qsdPid = (await runningQsd(runDir, vmid)) as number;
    expect(qsdPid).toBeGreaterThan(0);
    r.track(qsdPid);
    r.track((await runningSwtpm(swtpmPaths(runDir, vmid))) as number);
    await settle(debugcon, 1);

    // disk-only snapshot: the TPM state volume gets it from the daemon, with the export's content
    // (QEMU's device state save inside the snapshot makes swtpm store its state: the export's
    // content of that moment is the one read right after; the idle TPM does not write later)
    const lines: string[] = [];
    await snapshotCreate(ctx, vmid, 'first', { now, log: (l) => lines.push(l) });
    const atFirst = readFileSync(fuse(vmid));
    // swtpm's linear file magic: the state is at the start of the volume
    expect(atFirst.subarray(0, 8).toString('latin1')).toBe('nilmptws');
    expect(lines).toEqual([
      'skipping guest filesystem freeze - disabled in VM options',
      `snapshotting 'drive-scsi0' (local:${vmid}/vm-${vmid}-disk-0.qcow2)`,
      `snapshotting 'drive-tpmstate0' (local:${vmid}/vm-${vmid}-disk-1.qcow2)`,
    ]);
    expect(snapNames(tpm)).toEqual(['first']);
    expect(snapNames(disk)).toEqual(['first']);
    expect(tpmState(snapshotContent(tpm, 'first'))).toBe(tpmState(atFirst));
    expect(conf(vmid)).toMatch(/^parent: first$/m);
    expect(conf(vmid)).not.toMatch(/^lock:/m);
    expect(await qmp(vmid, 'query-status')).toMatchObject({ status: 'running' });

    // a reset: SeaBIOS starts the TPM again, which counts the reset in its state
    await qmp(vmid, 'system_reset');
    await settle(debugcon, 2);
    expect(tpmState(readFileSync(fuse(vmid)))).not.toBe(tpmState(atFirst));

    // with RAM, through the CLI: the state volume and the TPM snapshot of the same (paused) moment
    const cli = cliSync(r.root, 'snapshot', String(vmid), 'second', '--vmstate', '1');
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`snapshotting 'drive-tpmstate0' (local:${vmid}/vm-${vmid}-disk-1.qcow2)`);
    const atSecond = readFileSync(fuse(vmid));
    expect(tpmState(atSecond)).not.toBe(tpmState(atFirst));
    expect(conf(vmid)).toMatch(/^vmstate: local:9611\/vm-9611-state-second\.raw$/m);
    expect(snapNames(tpm)).toEqual(['first', 'second']);
    expect(snapNames(disk)).toEqual(['first', 'second']);
    expect(tpmState(snapshotContent(tpm, 'second'))).toBe(tpmState(atSecond));
    expect(tpmState(snapshotContent(tpm, 'first'))).toBe(tpmState(atFirst));
    expect(await qmp(vmid, 'query-status')).toMatchObject({ status: 'running' });

    // delsnapshot of the running VM: the daemon removes the TPM snapshot
    await snapshotDelete(ctx, vmid, 'first');
    expect(snapNames(tpm)).toEqual(['second']);
    expect(snapNames(disk)).toEqual(['second']);
    expect(conf(vmid)).not.toContain('[first]');

    // change the TPM state again, then roll back: the VM (and daemon, and swtpm) is restarted from the RAM snapshot
    await qmp(vmid, 'system_reset');
    await settle(debugcon, 3);
    expect(tpmState(readFileSync(fuse(vmid)))).not.toBe(tpmState(atSecond));
    await snapshotRollback(ctx, vmid, 'second');
    expect(alive(qsdPid)).toBe(false);
    const qsdAgain = (await runningQsd(runDir, vmid)) as number;
    expect(qsdAgain).toBeGreaterThan(0);
    r.track(qsdAgain);
    r.track((await runningSwtpm(swtpmPaths(runDir, vmid))) as number);
    expect(await qmp(vmid, 'query-status')).toMatchObject({ status: 'running' });
    expect(tpmState(readFileSync(fuse(vmid)))).toBe(tpmState(atSecond));
    expect(conf(vmid)).toMatch(/^parent: second$/m);

    await stopVm(ctx, vmid, { timeoutSec: 20 });
    expect(alive(qsdAgain)).toBe(false);
    // the stopped VM's snapshot goes through qemu-img, the TPM state volume included
    await snapshotDelete(ctx, vmid, 'second');
    expect(snapNames(tpm)).toEqual([]);
    expect(snapNames(disk)).toEqual([]);
  });

  it('removes the disk snapshot again and keeps the config when the daemon refuses the TPM snapshot', { timeout: 240_000 }, async () => {
    const vmid = 9612;
    const debugcon = join(r.logs, `${vmid}-debugcon.log`);
    await createVm({ root: r.root, vmid, params: vmParams(debugcon) });
    // the state volume already has a snapshot of that name (made while stopped): the daemon refuses a second one
    execFileSync('qemu-img', ['snapshot', '-c', 'taken', image(vmid, 1)]);
    const before = conf(vmid);
    const ctx = await r.context();
    const warnings: string[] = [];
    const started = await startVm(ctx, vmid, { timeoutSec: 120 });
    r.track(started.pid);
    r.track((await runningQsd(runDir, vmid)) as number);
    r.track((await runningSwtpm(swtpmPaths(runDir, vmid))) as number);
    await expect(snapshotCreate({ ...ctx, warn: (m) => warnings.push(m) }, vmid, 'taken', { now })).rejects.toMatchObject({
      code: 'QMP_ERROR',
      message: `QEMU storage daemon ${vmid} qsd command 'blockdev-snapshot-internal-sync' failed - Snapshot with name 'taken' already exists on device 'drive-tpmstate0'`,
    });
    expect(warnings).toEqual(['snapshot create failed: starting cleanup']);
    // the CLI: the warning and the error, one line each
    const cli = cliSync(r.root, 'snapshot', String(vmid), 'taken');
    expect(cli.code).toBe(1);
    expect(cli.stderr.trimEnd().split('\n')).toEqual([
      'WARN: snapshot create failed: starting cleanup',
      `QEMU storage daemon ${vmid} qsd command 'blockdev-snapshot-internal-sync' failed - Snapshot with name 'taken' already exists on device 'drive-tpmstate0'`,
    ]);
    expect(snapNames(image(vmid, 0))).toEqual([]);
    expect(snapNames(image(vmid, 1))).toEqual(['taken']);
    expect(conf(vmid)).toBe(before);
    expect(await qmp(vmid, 'query-status')).toMatchObject({ status: 'running' });
    await stopVm(ctx, vmid, { timeoutSec: 20 });
    writeFileSync(join(r.logs, 'done'), '');
  });
});
