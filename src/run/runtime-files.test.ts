import { withKvmHint } from './start.js';
import { CvmError } from '../errors.js';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidfileArg, processAlive, removeRuntimeFiles, runningPid, runtimePaths } from './runtime-files.js';
import { startTimeoutSec } from './context.js';
import { qemuErrorText } from './spawn.js';

describe('runtime files', () => {
  it('finds -pidfile in an argv', () => {
    expect(pidfileArg(['/usr/bin/kvm', '-id', '100', '-pidfile', '/run/100.pid', '-daemonize'])).toBe('/run/100.pid');
    expect(pidfileArg(['qemu', '--pidfile=/x.pid'])).toBe('/x.pid');
    expect(pidfileArg(['qemu'])).toBeUndefined();
  });

  it('does not take a live process for the VM unless its command line names the pid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-'));
    try {
      const paths = runtimePaths(dir, 100);
      expect(paths).toEqual({ runDir: dir, qmp: join(dir, '100.qmp'), pid: join(dir, '100.pid'), vnc: join(dir, '100.vnc') });
      expect(await runningPid(paths)).toBeUndefined();
      writeFileSync(paths.pid, `${process.pid}\n`); // alive, but not a QEMU with this -pidfile
      expect(await processAlive(process.pid)).toBe(true);
      expect(await runningPid(paths)).toBeUndefined();
      writeFileSync(paths.pid, 'garbage');
      expect(await runningPid(paths)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes exactly the <vmid>.* entries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-'));
    try {
      for (const n of ['100.pid', '100.qmp', '100.serial0', '1000.pid', '10.qmp']) writeFileSync(join(dir, n), '');
      mkdirSync(join(dir, 'efidisk'));
      expect((await removeRuntimeFiles(dir, 100)).sort()).toEqual(['100.pid', '100.qmp', '100.serial0']);
      expect(readdirSync(dir).sort()).toEqual(['10.qmp', '1000.pid', 'efidisk']);
      expect(await removeRuntimeFiles(join(dir, 'none'), 100)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start helpers', () => {
  it("uses qemu-server's config-aware start timeout", () => {
    expect(startTimeoutSec({ memory: '2048' })).toBe(30);
    expect(startTimeoutSec({ memory: '65536' })).toBe(64);
    expect(startTimeoutSec({ memory: '2048', hostpci0: '01:00.0' })).toBe(120);
    expect(startTimeoutSec({ hugepages: '1024' })).toBe(150);
  });

  it("keeps QEMU's error lines in one message", () => {
    expect(qemuErrorText('qemu-system-x86_64: -device foo: bad\n\nsecond line\n')).toBe(
      'qemu-system-x86_64: -device foo: bad - second line',
    );
  });
});

describe('start failure hints', () => {
  const kvmArgv = ['/usr/bin/qemu-system-x86_64', '-machine', 'accel=kvm,type=pc'];
  const failure = new CvmError(
    'QEMU_FAILED',
    "start failed: QEMU exited with code 1: qemu-system-x86_64: Host doesn't support requested features",
  );
  it('tells how to fall back to TCG when KVM cannot run the VM', () => {
    const hinted = withKvmHint(failure, kvmArgv, 812) as CvmError;
    expect(hinted.code).toBe('QEMU_FAILED');
    expect(hinted.message).toMatch(/'cvmctl set 812 --kvm 0' runs it under TCG\)$/);
  });
  it('leaves TCG runs and unrelated errors alone', () => {
    expect(withKvmHint(failure, ['/usr/bin/qemu-system-x86_64', '-machine', 'accel=tcg,type=pc'], 812)).toBe(failure);
    const other = new CvmError('QEMU_FAILED', 'start failed: QEMU exited with code 1: -device foo: bad');
    expect(withKvmHint(other, kvmArgv, 812)).toBe(other);
  });
});
