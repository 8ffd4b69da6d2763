/**
 * swtpm with real QEMU under TCG. A Windows 11-style VM (q35, OVMF 4M with Microsoft keys
 * pre-enrolled, efidisk and a TPM 2.0 state volume allocated by `create`) starts: QMP
 * `query-tpm` shows the emulator backend, and the firmware talks to the TPM -- QEMU's own TPM
 * trace shows OVMF's TPM2_Startup and PCR extends answered with success (Debian's OVMF is a
 * release build that prints nothing on the 0x402 debug port, so the trace is the witness).
 * A SeaBIOS VM with a TPM 1.2 state does the same with TPM 1.2 ordinals. Stop ends swtpm and
 * removes its socket; a swtpm failure is reported with swtpm's text and a QEMU failure after
 * swtpm started leaves no swtpm, QEMU or runtime file behind. A qcow2 TPM state is exported
 * to swtpm by a real qemu-storage-daemon over FUSE: the TPM answers, the qcow2 gains data, the
 * state survives a restart, and stop or a failed export/start leaves no daemon, mount or file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { startVm, stopVm } from '../../src/run/index.js';
import { createVm } from '../../src/store/vm-ops.js';
import { runningQsd, runningSwtpm, swtpmPaths } from '../../src/tpm/index.js';
import { alive, makeTestRoot, QEMU_BINARY, SKIP_REASON, waitFor } from './helpers.js';

const hasSwtpm = (() => {
  try {
    execFileSync('swtpm', ['--version']);
    execFileSync('swtpm_setup', ['--print-capabilities']);
    return true;
  } catch {
    return false;
  }
})();
const MS_CODE = '/usr/share/OVMF/OVMF_CODE_4M.ms.fd';

// one root for the file; every VM is stopped by its test, cleanup() kills leftovers (pid files incl. swtpm's)
const r = makeTestRoot('cvmctl-tpm-');
afterAll(() => r.cleanup());
const runDir = join(r.root, 'run');
const runFiles = (vmid: number) => (existsSync(runDir) ? readdirSync(runDir).filter((n) => n.startsWith(`${vmid}.`)) : []);

/** QEMU's `tpm_util_show_buffer*` trace as [command code, response code] pairs. */
function tpmExchanges(trace: string): { command: number; response: number }[] {
  const lines = trace.split('\n');
  const out: { command: number; response: number }[] = [];
  let pendingCommand: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const header = /tpm_util_show_buffer_header direction: (To|From) TPM/.exec(lines[i] as string);
    if (!header) continue;
    const bytes = (lines[i + 1] ?? '')
      .replace(/^tpm_util_show_buffer_content\s*/, '')
      .trim()
      .split(/\s+/)
      .map((b) => Number.parseInt(b, 16));
    // header: tag(2) size(4) code(4): command ordinal / response code
    const code = (((bytes[6] as number) << 24) | ((bytes[7] as number) << 16) | ((bytes[8] as number) << 8) | (bytes[9] as number)) >>> 0;
    if (header[1] === 'To') pendingCommand = code;
    else if (pendingCommand !== undefined) {
      out.push({ command: pendingCommand, response: code });
      pendingCommand = undefined;
    }
  }
  return out;
}

async function queryTpm(vmid: number): Promise<unknown> {
  const qmp = await QmpClient.connect(join(runDir, `${vmid}.qmp`));
  try {
    return await qmp.execute('query-tpm');
  } finally {
    qmp.destroy();
  }
}

/** `10.0` from `QEMU emulator version 10.0.2 (…)`: the machine version a VM created here pins. */
function qemuMajorMinor(): string {
  const m = /version (\d+\.\d+)/.exec(execFileSync(QEMU_BINARY as string, ['--version'], { encoding: 'utf8' }));
  return m?.[1] ?? 'unknown';
}

const ready = QEMU_BINARY && hasSwtpm;
const why = !QEMU_BINARY ? SKIP_REASON : 'swtpm/swtpm_setup are not installed (run scripts/setup.sh)';

describe.skipIf(!ready)(`swtpm with real QEMU${ready ? '' : ` (skipped: ${why})`}`, () => {
  it('starts a Windows 11-style VM (q35, OVMF 4M ms keys, TPM 2.0) whose firmware uses the TPM', { timeout: 240_000 }, async () => {
    const trace = join(r.logs, 'win11-tpm-trace.log');
    await createVm({
      root: r.root,
      vmid: 9501,
      params: {
        name: 'win11',
        ostype: 'win11',
        machine: 'q35',
        bios: 'ovmf',
        kvm: '0',
        memory: '512',
        vga: 'none',
        efidisk0: 'local:1,efitype=4m,pre-enrolled-keys=1',
        tpmstate0: 'local:1,version=v2.0',
        args: `-trace enable=tpm_util_show_buffer* -D ${trace}`,
      },
    });
    const conf = readFileSync(join(r.root, 'qemu-server', '9501.conf'), 'utf8');
    expect(conf).toMatch(/^tpmstate0: local:9501\/vm-9501-disk-1\.raw,size=4M,version=v2\.0$/m);
    const statePath = join(r.root, 'images', '9501', 'vm-9501-disk-1.raw');
    expect(
      readFileSync(statePath)
        .subarray(0, 4096)
        .every((b) => b === 0),
    ).toBe(true);

    const ctx = await r.context();
    const started = await startVm(ctx, 9501, { timeoutSec: 120 });
    r.track(started.pid);
    // created on QEMU 10, the win11 VM pins pc-q35-10.0 (meta creation-qemu), whose flash is a -blockdev
    expect(started.argv).toContain(`pflash0=pflash0,pflash1=drive-efidisk0,hpet=off,accel=tcg,type=pc-q35-${qemuMajorMinor()}`);
    expect(started.argv.some((a) => a.includes(`"filename":"${MS_CODE}"`))).toBe(true);
    const swtpmPid = await runningSwtpm(swtpmPaths(runDir, 9501));
    expect(swtpmPid).toBeGreaterThan(0);
    r.track(swtpmPid as number);
    const swtpmArgs = readFileSync(`/proc/${swtpmPid}/cmdline`, 'utf8').split('\0');
    expect(swtpmArgs).toContain(`backend-uri=file://${statePath},mode=0600`);
    expect(swtpmArgs).toContain('--tpm2');
    // swtpm_setup manufactured the state on the volume (it is no longer all zeroes)
    expect(
      readFileSync(statePath)
        .subarray(0, 4096)
        .some((b) => b !== 0),
    ).toBe(true);

    expect(await queryTpm(9501)).toEqual([{ model: 'tpm-tis', options: { type: 'emulator', data: { chardev: 'tpmchar' } }, id: 'tpmdev' }]);

    const TPM2_STARTUP = 0x144;
    const TPM2_PCR_EXTEND = 0x182;
    const exchanges = await waitFor(() => {
      const ex = tpmExchanges(existsSync(trace) ? readFileSync(trace, 'utf8') : '');
      return ex.some((e) => e.command === TPM2_PCR_EXTEND) ? ex : undefined;
    }, 150_000);
    expect(exchanges, 'OVMF never extended a PCR').toBeDefined();
    expect(exchanges?.find((e) => e.command === TPM2_STARTUP)?.response).toBe(0);
    expect(exchanges?.filter((e) => e.command === TPM2_PCR_EXTEND).every((e) => e.response === 0)).toBe(true);

    const stopped = await stopVm(ctx, 9501, { timeoutSec: 20 });
    expect(stopped.wasRunning).toBe(true);
    expect(alive(started.pid)).toBe(false);
    expect(alive(swtpmPid as number)).toBe(false);
    expect(runFiles(9501)).toEqual([]);
    // the manufactured state stays on the volume for the next start
    expect(
      readFileSync(statePath)
        .subarray(0, 4096)
        .some((b) => b !== 0),
    ).toBe(true);
  });

  it('runs a TPM 1.2 state for a SeaBIOS VM (no --tpm2) and the BIOS starts it', { timeout: 180_000 }, async () => {
    const trace = join(r.logs, 'tpm12-trace.log');
    await createVm({
      root: r.root,
      vmid: 9502,
      params: { kvm: '0', memory: '64', vga: 'none', tpmstate0: 'local:1', args: `-trace enable=tpm_util_show_buffer* -D ${trace}` },
    });
    const ctx = await r.context();
    const started = await startVm(ctx, 9502, { timeoutSec: 60 });
    r.track(started.pid);
    const swtpmPid = (await runningSwtpm(swtpmPaths(runDir, 9502))) as number;
    r.track(swtpmPid);
    expect(readFileSync(`/proc/${swtpmPid}/cmdline`, 'utf8').split('\0')).not.toContain('--tpm2');
    const TPM_ORD_STARTUP = 0x99;
    const exchanges = await waitFor(() => {
      const ex = tpmExchanges(existsSync(trace) ? readFileSync(trace, 'utf8') : '');
      return ex.some((e) => e.command === TPM_ORD_STARTUP) ? ex : undefined;
    }, 120_000);
    expect(exchanges?.find((e) => e.command === TPM_ORD_STARTUP)?.response).toBe(0);
    await stopVm(ctx, 9502, { timeoutSec: 20 });
    expect(alive(swtpmPid)).toBe(false);
    expect(runFiles(9502)).toEqual([]);
  });

  it("reports swtpm_setup's own failure and starts nothing", async () => {
    r.writeConfig(9503, 'kvm: 0\nmemory: 64\nvga: none\ntpmstate0: /nonexistent-dir/9503/tpm.raw,version=v2.0\n');
    const ctx = await r.context();
    await expect(startVm(ctx, 9503, { timeoutSec: 30 })).rejects.toMatchObject({
      code: 'QEMU_FAILED',
      message: expect.stringMatching(
        /^tpmstate0: unable to set up TPM state '\/nonexistent-dir\/9503\/tpm\.raw': swtpm_setup failed \(exit code 1\)/,
      ),
    });
    expect(runFiles(9503)).toEqual([]);
  });

  it('stops the swtpm it started when QEMU then fails, leaving nothing behind', async () => {
    await createVm({
      root: r.root,
      vmid: 9504,
      params: { kvm: '0', memory: '64', vga: 'none', tpmstate0: 'local:1,version=v2.0', args: '-device no-such-device-model' },
    });
    const ctx = await r.context();
    const err = await startVm(ctx, 9504, { timeoutSec: 30 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'QEMU_FAILED',
      message: expect.stringContaining("'no-such-device-model' is not a valid device model name"),
    });
    expect(runFiles(9504)).toEqual([]);
    const left = execFileSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(join(runDir, '9504.swtpm')) && !l.startsWith('Z'));
    expect(left).toEqual([]);
  });

  it('runs a qcow2 TPM state through a qemu-storage-daemon FUSE export and stops it with the VM', { timeout: 300_000 }, async () => {
    const trace = join(r.logs, 'qcow2-tpm-trace.log');
    await createVm({
      root: r.root,
      vmid: 9505,
      params: {
        kvm: '0',
        memory: '64',
        vga: 'none',
        tpmstate0: 'local:1,format=qcow2,version=v2.0',
        args: `-trace enable=tpm_util_show_buffer* -D ${trace}`,
      },
    });
    const conf = readFileSync(join(r.root, 'qemu-server', '9505.conf'), 'utf8');
    expect(conf).toMatch(/^tpmstate0: local:9505\/vm-9505-disk-0\.qcow2,size=4M,version=v2\.0$/m);
    const image = join(r.root, 'images', '9505', 'vm-9505-disk-0.qcow2');
    const info = () => JSON.parse(execFileSync('qemu-img', ['info', '--output=json', image], { encoding: 'utf8' })) as Record<string, unknown>;
    const allocated = () =>
      (JSON.parse(execFileSync('qemu-img', ['map', '--output=json', image], { encoding: 'utf8' })) as { data: boolean; zero: boolean; length: number }[])
        .filter((e) => e.data && !e.zero)
        .reduce((n, e) => n + e.length, 0);
    expect(info().format).toBe('qcow2');
    expect(allocated()).toBe(0);

    const ctx = await r.context();
    const started = await startVm(ctx, 9505, { timeoutSec: 120 });
    r.track(started.pid);
    const qsdPid = (await runningQsd(runDir, 9505)) as number;
    expect(qsdPid).toBeGreaterThan(0);
    r.track(qsdPid);
    const fuse = join(runDir, 'qsd-9505-tpmstate0.fuse');
    expect(readFileSync('/proc/self/mounts', 'utf8')).toContain(` ${realpathSync(fuse)} fuse`);
    const swtpmPid = (await runningSwtpm(swtpmPaths(runDir, 9505))) as number;
    r.track(swtpmPid);
    expect(readFileSync(`/proc/${swtpmPid}/cmdline`, 'utf8').split('\0')).toContain(`backend-uri=file://${fuse},mode=0600`);
    expect(await queryTpm(9505)).toEqual([{ model: 'tpm-tis', options: { type: 'emulator', data: { chardev: 'tpmchar' } }, id: 'tpmdev' }]);
    // the TPM works on the exported state: SeaBIOS's TPM2_Startup succeeds
    const TPM2_STARTUP = 0x144;
    const startupAnswer = () =>
      waitFor(() => tpmExchanges(existsSync(trace) ? readFileSync(trace, 'utf8') : '').find((e) => e.command === TPM2_STARTUP), 120_000);
    expect((await startupAnswer())?.response).toBe(0);

    await stopVm(ctx, 9505, { timeoutSec: 20 });
    expect(alive(started.pid)).toBe(false);
    expect(alive(swtpmPid)).toBe(false);
    expect(alive(qsdPid)).toBe(false);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain('qsd-9505-');
    expect(runFiles(9505)).toEqual([]);
    expect(readdirSync(runDir).filter((n) => n.startsWith('qsd-9505'))).toEqual([]);
    // swtpm_setup manufactured the state through the export: the qcow2 now holds data
    expect(info().format).toBe('qcow2');
    const manufactured = allocated();
    expect(manufactured).toBeGreaterThan(0);

    // the next start keeps the state on the volume (swtpm_setup --not-overwrite through the export)
    rmSync(trace, { force: true });
    const again = await startVm(ctx, 9505, { timeoutSec: 120 });
    r.track(again.pid);
    const qsdAgain = (await runningQsd(runDir, 9505)) as number;
    r.track(qsdAgain);
    expect((await startupAnswer())?.response).toBe(0);
    await stopVm(ctx, 9505, { timeoutSec: 20 });
    expect(alive(qsdAgain)).toBe(false);
    expect(readdirSync(runDir).filter((n) => n.startsWith('qsd-9505') || n.startsWith('9505.'))).toEqual([]);
  });

  it('leaves no storage daemon, mount or file behind when the export or QEMU fails', { timeout: 120_000 }, async () => {
    const leftovers = (vmid: number) => ({
      run: [...runFiles(vmid), ...readdirSync(runDir).filter((n) => n.startsWith(`qsd-${vmid}`))],
      mounts: readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .filter((l) => l.includes(`qsd-${vmid}-`)),
      processes: execFileSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => (l.includes(`qsd-${vmid}.pid`) || l.includes(join(runDir, `${vmid}.swtpm`))) && !l.startsWith('Z')),
    });
    const nothing = { run: [], mounts: [], processes: [] };
    const ctx = await r.context();

    // a volume that is no qcow2 image: blockdev-add in the daemon fails
    await createVm({ root: r.root, vmid: 9506, params: { kvm: '0', memory: '64', vga: 'none', tpmstate0: 'local:1,format=qcow2,version=v2.0' } });
    writeFileSync(join(r.root, 'images', '9506', 'vm-9506-disk-0.qcow2'), Buffer.alloc(65536, 0x41));
    await expect(startVm(ctx, 9506, { timeoutSec: 30 })).rejects.toMatchObject({
      code: 'QEMU_FAILED',
      message: expect.stringMatching(/^tpmstate0: unable to export the volume through qemu-storage-daemon - .*qcow2/i),
    });
    expect(leftovers(9506)).toEqual(nothing);

    // daemon, export and swtpm run, then QEMU fails
    await createVm({
      root: r.root,
      vmid: 9507,
      params: { kvm: '0', memory: '64', vga: 'none', tpmstate0: 'local:1,format=qcow2,version=v2.0', args: '-device no-such-device-model' },
    });
    await expect(startVm(ctx, 9507, { timeoutSec: 30 })).rejects.toMatchObject({
      code: 'QEMU_FAILED',
      message: expect.stringContaining("'no-such-device-model' is not a valid device model name"),
    });
    expect(leftovers(9507)).toEqual(nothing);
  });

});
