/**
 * Real QEMU under TCG (configs say `kvm: 0`): a SeaBIOS VM and an OVMF VM are started through
 * the lifecycle code with the local host profile, their firmware output is read from a
 * debug console / serial file, `status` reports them running, and `stop` leaves neither a
 * process nor a runtime file. Also: a second start is refused, stale runtime files are
 * cleared, QEMU's own error text is reported, a missing bridge fails before spawning, and
 * shutdown/reboot complete when the guest powers off (typed into OVMF's UEFI shell).
 */
import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rebootVm, startVm, stopVm, vmStatus, resetVm, suspendVm, resumeVm, shutdownVm } from '../../src/run/index.js';
import { alive, makeTestRoot, QEMU_BINARY, readIfExists, SKIP_REASON, type TestRoot, waitFor } from './helpers.js';

const roots: TestRoot[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) r.cleanup();
});

function newRoot(): TestRoot {
  const r = makeTestRoot();
  roots.push(r);
  return r;
}

const runFiles = (r: TestRoot) => (existsSync(join(r.root, 'run')) ? readdirSync(join(r.root, 'run')).filter((n) => n !== 'efidisk') : []);

describe.skipIf(!QEMU_BINARY)(`real QEMU boots${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('boots a SeaBIOS VM to firmware output, reports it running, stops it cleanly', async () => {
    const r = newRoot();
    const debugcon = join(r.logs, 'seabios-debugcon.log');
    r.writeConfig(
      9101,
      [
        'name: it-seabios',
        'memory: 64',
        'cores: 1',
        'kvm: 0',
        'ostype: l26',
        'vga: none',
        'serial0: socket',
        `args: -chardev file,id=dbgcon,path=${debugcon} -device isa-debugcon,iobase=0x402,chardev=dbgcon`,
        '',
      ].join('\n'),
    );
    const ctx = await r.context();
    const started = await startVm(ctx, 9101, { timeoutSec: 60 });
    r.track(started.pid);
    expect(started.argv[0]).toBe(QEMU_BINARY);
    expect(started.argv).toContain('-daemonize');
    expect(started.qmpStatus).toBe('running');
    expect(alive(started.pid)).toBe(true);

    const text = await waitFor(() => (/SeaBIOS \(version/.test(readIfExists(debugcon)) ? readIfExists(debugcon) : undefined), 60_000);
    expect(text).toMatch(/SeaBIOS \(version [^)]+\)/);

    const st = await vmStatus(ctx, 9101, { verbose: true });
    expect(st).toMatchObject({ vmid: 9101, status: 'running', pid: started.pid, qmpstatus: 'running', name: 'it-seabios' });
    expect(st['running-qemu']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(st.uptime).toBeGreaterThanOrEqual(0);
    expect(runFiles(r).sort()).toEqual(['9101.pid', '9101.qmp', '9101.serial0']);

    // a second start is refused with qemu-server's text and changes nothing
    await expect(startVm(ctx, 9101)).rejects.toMatchObject({ code: 'VM_RUNNING', message: 'VM 9101 already running' });
    expect(alive(started.pid)).toBe(true);

    // suspend / resume / reset go through QMP
    await suspendVm(ctx, 9101);
    expect((await vmStatus(ctx, 9101)).status).toBe('paused');
    expect(await resumeVm(ctx, 9101)).toBe('cont');
    expect((await vmStatus(ctx, 9101)).qmpstatus).toBe('running');
    await resetVm(ctx, 9101);

    const stopped = await stopVm(ctx, 9101, { timeoutSec: 20 });
    expect(stopped).toEqual({ vmid: 9101, wasRunning: true, method: 'quit' });
    expect(alive(started.pid)).toBe(false);
    expect(runFiles(r)).toEqual([]);
    expect(await vmStatus(ctx, 9101)).toEqual({ vmid: 9101, name: 'it-seabios', status: 'stopped' });
    // stopping a stopped VM is not an error
    expect(await stopVm(ctx, 9101)).toEqual({ vmid: 9101, wasRunning: false });
  }, 120_000);

  it('boots an OVMF VM to the UEFI boot manager on its serial console and stops it', async () => {
    const r = newRoot();
    const serial = join(r.logs, 'ovmf-serial.log');
    r.writeConfig(
      9102,
      [
        'name: it-ovmf',
        'bios: ovmf',
        'machine: q35',
        'memory: 256',
        'cores: 1',
        'kvm: 0',
        'ostype: l26',
        'vga: none',
        `args: -chardev file,id=ser,path=${serial} -serial chardev:ser`,
        '',
      ].join('\n'),
    );
    const ctx = await r.context();
    const started = await startVm(ctx, 9102, { timeoutSec: 60 });
    r.track(started.pid);
    expect(started.warnings).toContain('no efidisk configured! Using temporary efivars disk.');
    // the temporary efivars copy exists while the VM runs
    expect(existsSync(join(ctx.facts.paths.efivarsDir, '9102-ovmf.fd'))).toBe(true);

    const text = await waitFor(
      () => (/BdsDxe: (loading|starting|failed)/.test(readIfExists(serial)) ? readIfExists(serial) : undefined),
      100_000,
    );
    expect(text).toMatch(/BdsDxe: (loading|starting|failed to load) Boot\d{4}/);
    expect((await vmStatus(ctx, 9102)).status).toBe('running');

    await stopVm(ctx, 9102, { timeoutSec: 20 });
    expect(alive(started.pid)).toBe(false);
    expect(runFiles(r)).toEqual([]);
    expect(existsSync(join(ctx.facts.paths.efivarsDir, '9102-ovmf.fd'))).toBe(false);
  }, 150_000);

  it('shutdown without a guest OS times out, --force-stop stops the VM', async () => {
    const r = newRoot();
    r.writeConfig(9105, 'memory: 64\nkvm: 0\nvga: none\n');
    const ctx = await r.context();
    const started = await startVm(ctx, 9105, { timeoutSec: 60 });
    r.track(started.pid);
    await expect(shutdownVm(ctx, 9105, { timeoutSec: 1 })).rejects.toMatchObject({ message: 'VM quit/powerdown failed - got timeout' });
    expect(alive(started.pid)).toBe(true);
    const res = await shutdownVm(ctx, 9105, { timeoutSec: 1, forceStop: true });
    expect(res.wasRunning).toBe(true);
    expect(alive(started.pid)).toBe(false);
    expect(runFiles(r)).toEqual([]);
  }, 120_000);

  it('shutdown follows vm_shutdown/_do_vm_stop: stopped VM is done, paused VM stops with forceStop, startup down=N is the wait', async () => {
    const r = newRoot();
    r.writeConfig(9108, 'memory: 64\nkvm: 0\nvga: none\nstartup: down=2\n');
    const warnings: string[] = [];
    const ctx = { ...(await r.context()), warn: (m: string) => warnings.push(m) };
    // not running: nothing to do, no error (reboot still refuses)
    expect(await shutdownVm(ctx, 9108)).toEqual({ vmid: 9108, wasRunning: false });
    await expect(rebootVm(ctx, 9108)).rejects.toMatchObject({ message: 'VM 9108 not running' });

    const started = await startVm(ctx, 9108, { timeoutSec: 60 });
    r.track(started.pid);
    // no guest OS answers the power button: the config's down=2 bounds the wait, not the default 60 s
    const t0 = Date.now();
    await expect(shutdownVm(ctx, 9108)).rejects.toMatchObject({ message: 'VM quit/powerdown failed - got timeout' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(alive(started.pid)).toBe(true);

    await suspendVm(ctx, 9108);
    await expect(shutdownVm(ctx, 9108, { timeoutSec: 1 })).rejects.toMatchObject({ message: 'VM is paused - cannot shutdown' });
    const res = await shutdownVm(ctx, 9108, { timeoutSec: 30, forceStop: true });
    expect(res).toMatchObject({ wasRunning: true, method: 'quit' });
    expect(warnings).toContain('VM is paused - stop instead of shutdown');
    expect(alive(started.pid)).toBe(false);
    expect(runFiles(r)).toEqual([]);
  }, 120_000);

  it('clears stale runtime files of a dead QEMU before starting', async () => {
    const r = newRoot();
    r.writeConfig(9103, 'memory: 64\nkvm: 0\nvga: none\n');
    mkdirSync(join(r.root, 'run'), { recursive: true });
    // pid 1 is running but is not this VM's QEMU: must not count as running
    writeFileSync(join(r.root, 'run', '9103.pid'), '1\n');
    writeFileSync(join(r.root, 'run', '9103.qmp'), '');
    const warnings: string[] = [];
    const ctx = { ...(await r.context()), warn: (m: string) => warnings.push(m) };
    expect((await vmStatus(ctx, 9103)).status).toBe('stopped');
    const started = await startVm(ctx, 9103, { timeoutSec: 60 });
    r.track(started.pid);
    expect(warnings).toContain('removed stale runtime files of VM 9103: 9103.pid, 9103.qmp');
    expect((await vmStatus(ctx, 9103)).pid).toBe(started.pid);
    await stopVm(ctx, 9103, { timeoutSec: 20 });
    expect(runFiles(r)).toEqual([]);
  }, 120_000);

  it("reports QEMU's own error when it dies during start and leaves nothing behind", async () => {
    const r = newRoot();
    r.writeConfig(9104, 'memory: 64\nkvm: 0\nvga: none\nargs: -device no-such-device-model\n');
    const ctx = await r.context();
    const err = await startVm(ctx, 9104, { timeoutSec: 60 }).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'QEMU_FAILED' });
    expect((err as Error).message).toMatch(
      /^start failed: QEMU exited with code 1: .*'no-such-device-model' is not a valid device model name/,
    );
    expect(runFiles(r)).toEqual([]);
  }, 60_000);

  it('refuses a tap NIC on a bridge that does not exist before spawning QEMU', async () => {
    const r = newRoot();
    r.writeConfig(9106, 'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:01,bridge=cvmnobr0\n');
    const ctx = await r.context({ bridgeMtu: {} });
    await expect(startVm(ctx, 9106)).rejects.toMatchObject({ code: 'HOST_UNSUPPORTED', message: "net0: bridge 'cvmnobr0' does not exist" });
    expect(runFiles(r)).toEqual([]);
  });
});

/** Power the guest off from its UEFI shell (`reset -s` typed on serial0) once the prompt shows. */
function powerOffFromUefiShell(serialSocket: string): { typed: () => boolean; close: () => void } {
  const sock = createConnection(serialSocket);
  let seen = '';
  let typed = false;
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    seen += d;
    if (!typed && /Shell>\s*$/.test(seen.replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, ''))) {
      typed = true;
      sock.write('reset -s\r');
    }
  });
  sock.on('error', () => {});
  return { typed: () => typed, close: () => sock.destroy() };
}

describe.skipIf(!QEMU_BINARY)(`guest power-off${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('shutdown finishes QEMU after the guest powers off (-no-shutdown), via the UEFI shell', async () => {
    const r = newRoot();
    r.writeConfig(9107, 'bios: ovmf\nmachine: q35\nmemory: 256\ncores: 1\nkvm: 0\nostype: l26\nvga: none\nserial0: socket\n');
    const ctx = await r.context();
    const started = await startVm(ctx, 9107, { timeoutSec: 60 });
    r.track(started.pid);
    const guest = powerOffFromUefiShell(join(ctx.facts.paths.runDir, '9107.serial0'));
    try {
      const res = await shutdownVm(ctx, 9107, { timeoutSec: 110 });
      expect(guest.typed()).toBe(true);
      expect(res).toEqual({ vmid: 9107, wasRunning: true, method: 'powerdown' });
      expect(alive(started.pid)).toBe(false);
      expect(runFiles(r)).toEqual([]);
    } finally {
      guest.close();
    }
  }, 150_000);

  it('reboot is a guest power-off followed by a fresh QEMU', async () => {
    const r = newRoot();
    r.writeConfig(9108, 'bios: ovmf\nmachine: q35\nmemory: 256\ncores: 1\nkvm: 0\nostype: l26\nvga: none\nserial0: socket\n');
    const ctx = await r.context();
    const first = await startVm(ctx, 9108, { timeoutSec: 60 });
    r.track(first.pid);
    const guest = powerOffFromUefiShell(join(ctx.facts.paths.runDir, '9108.serial0'));
    try {
      const second = await rebootVm(ctx, 9108, { timeoutSec: 110, startTimeoutSec: 60 });
      r.track(second.pid);
      expect(guest.typed()).toBe(true);
      expect(second.pid).not.toBe(first.pid);
      expect(alive(first.pid)).toBe(false);
      expect(await vmStatus(ctx, 9108)).toMatchObject({ status: 'running', pid: second.pid });
      await stopVm(ctx, 9108, { timeoutSec: 20 });
      expect(runFiles(r)).toEqual([]);
    } finally {
      guest.close();
    }
  }, 200_000);
});
