import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeQemu, fakeQemu as startFake } from '../../test/helpers/fake-qemu.js';
import { runningPid, runtimePaths } from '../run/runtime-files.js';
import { runningPidFromFile } from './liveness.js';
import { pidfilePath, vmListRow, vmStatus } from './status.js';
import { createVm, destroyVm, updateVm } from './vm-ops.js';
import { FsConfigStore } from './fs-store.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-live-'));
  mkdirSync(join(root, 'run'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const fakes: FakeQemu[] = [];
afterAll(() => {
  for (const f of fakes) f.stop();
});

/** A live process whose command line names `pidfile` after -pidfile, as QEMU's does (pid file not written). */
async function fakeQemu(pidfile: string): Promise<number> {
  const f = await startFake(pidfile, { writePidfile: false });
  fakes.push(f);
  return f.pid;
}

describe('one liveness check', () => {
  it('a stale pid file naming an unrelated live process is "stopped" for status, list, set and destroy alike', async () => {
    await createVm({ root, vmid: 100, params: { memory: '512' } });
    // this test's own process: alive, but not a QEMU with this pid file
    writeFileSync(pidfilePath(root, 100), `${process.pid}\n`);
    expect(await vmStatus(root, 100)).toEqual({ status: 'stopped' });
    expect(await runningPid(runtimePaths(join(root, 'run'), 100))).toBeUndefined();
    const cfg = (await new FsConfigStore(root).read(100)).config;
    expect((await vmListRow(root, cfg)).status).toBe('stopped');
    const res = await updateVm({ root, vmid: 100, params: { cores: '2' } });
    expect(res.pending).toBe(false);
    expect(res.config.conf.cores).toBe('2');
    await destroyVm({ root, vmid: 100 });
    expect(existsSync(join(root, 'qemu-server', '100.conf'))).toBe(false);
  });

  it('a live process started with this -pidfile is "running" everywhere; set goes to [PENDING] and destroy refuses', async () => {
    await createVm({ root, vmid: 101, params: { memory: '512' } });
    const pidfile = pidfilePath(root, 101);
    const pid = await fakeQemu(pidfile);
    writeFileSync(pidfile, `${pid}\n`);
    expect(await vmStatus(root, 101)).toEqual({ status: 'running', pid });
    expect(await runningPid(runtimePaths(join(root, 'run'), 101))).toBe(pid);
    const res = await updateVm({ root, vmid: 101, params: { cores: '2' } });
    expect(res.pending).toBe(true);
    expect(res.config.pending.cores).toBe('2');
    await expect(destroyVm({ root, vmid: 101 })).rejects.toThrow('VM 101 is running - destroy failed');
  });

  it('a pid file older than the process it names is stale (the pid was recycled)', async () => {
    const pidfile = pidfilePath(root, 102);
    const pid = await fakeQemu(pidfile);
    writeFileSync(pidfile, `${pid}\n`);
    expect(await runningPidFromFile(pidfile)).toBe(pid);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(pidfile, hourAgo, hourAgo);
    expect(await runningPidFromFile(pidfile)).toBeUndefined();
  });

  it('a pid file that is a symlink, a FIFO-like non-file, or junk does not count', async () => {
    const pidfile = pidfilePath(root, 103);
    const pid = await fakeQemu(pidfile);
    const real = join(root, 'elsewhere.pid');
    writeFileSync(real, `${pid}\n`);
    symlinkSync(real, pidfile);
    expect(await runningPidFromFile(pidfile)).toBeUndefined();
    rmSync(pidfile);
    mkdirSync(pidfile);
    expect(await runningPidFromFile(pidfile)).toBeUndefined();
    rmSync(pidfile, { recursive: true });
    writeFileSync(pidfile, `${pid} trailing junk\n`);
    expect(await runningPidFromFile(pidfile)).toBeUndefined();
  });
});
