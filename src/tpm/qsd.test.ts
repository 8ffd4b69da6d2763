import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pveTestProfile } from '../host/profiles/pve-test.js';
import { attachAndExport, fuseExportArgs, qsdDaemonArgs, qsdFuseExportPath, qsdPaths, startQsdFuseExport } from './qsd.js';
import { tpmStateBlockdev, tpmStateOf } from './state.js';

// qemu-server's QSD.pm / Helpers.pm names and arguments (facts, not its code)
describe('qemu-storage-daemon for a non-raw tpmstate0', () => {
  it('uses the run dir names qemu-server uses: <vmid>.qsd, qsd-<vmid>.pid, qsd-<vmid>-<export>.fuse', () => {
    expect(qsdPaths('/run/qemu-server', 100)).toEqual({ qmp: '/run/qemu-server/100.qsd', pid: '/run/qemu-server/qsd-100.pid' });
    expect(qsdFuseExportPath('/run/qemu-server', 100, 'tpmstate0')).toBe('/run/qemu-server/qsd-100-tpmstate0.fuse');
  });

  it('daemonizes with a QMP monitor on the socket and a pid file', () => {
    expect(qsdDaemonArgs(qsdPaths('/r', 7))).toEqual([
      '--daemonize',
      '--chardev',
      'socket,id=qmp,path=/r/7.qsd,server=on,wait=off',
      '--monitor',
      'chardev=qmp,mode=control',
      '--pidfile',
      '/r/qsd-7.pid',
    ]);
  });

  it('exports the top node through FUSE, not growable, no allow-other, writable unless read-only', () => {
    expect(fuseExportArgs('tpmstate0', 'drive-tpmstate0', '/r/qsd-7-tpmstate0.fuse', true)).toEqual({
      type: 'fuse',
      id: 'tpmstate0',
      mountpoint: '/r/qsd-7-tpmstate0.fuse',
      'node-name': 'drive-tpmstate0',
      writable: true,
      growable: false,
      'allow-other': 'off',
    });
    expect(fuseExportArgs('x', 'n', '/m', false).writable).toBe(false);
  });

  it('exports qcow2 (any non-raw) volumes; raw volumes and plain paths go to swtpm as they are', () => {
    const { storage } = pveTestProfile();
    const qcow2 = tpmStateOf('local:100/vm-100-disk-0.qcow2,size=4M,version=v2.0', storage);
    expect(qcow2).toEqual({
      statePath: '/var/lib/vz/images/100/vm-100-disk-0.qcow2',
      version: 'v2.0',
      file: 'local:100/vm-100-disk-0.qcow2',
      needsExport: true,
    });
    expect(tpmStateOf('local:100/vm-100-disk-0.raw,size=4M', storage)).toMatchObject({ needsExport: false, version: 'v1.2' });
    expect(tpmStateOf('/srv/tpm/state.qcow2', storage)).toMatchObject({ statePath: '/srv/tpm/state.qcow2', needsExport: false });
  });

  it('attaches the qcow2 volume as the throttle → qcow2 → file chain of drive-tpmstate0 with its throttle group', () => {
    const { blockdev, throttleGroup } = tpmStateBlockdev('local:100/vm-100-disk-0.qcow2,size=4M,version=v2.0', pveTestProfile());
    expect(blockdev).toMatchObject({
      driver: 'throttle',
      'node-name': 'drive-tpmstate0',
      'throttle-group': 'throttle-drive-tpmstate0',
      'read-only': false,
      file: { driver: 'qcow2', file: { driver: 'file', filename: '/var/lib/vz/images/100/vm-100-disk-0.qcow2' } },
    });
    expect(throttleGroup).toEqual({ id: 'throttle-drive-tpmstate0', limits: {}, 'qom-type': 'throttle-group' });
  });

  describe('a daemon that does not start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvmctl-qsd-start-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const { blockdev, throttleGroup } = tpmStateBlockdev('local:100/vm-100-disk-0.qcow2,size=4M,version=v2.0', pveTestProfile());
    const opts = { runDir: dir, vmid: 100, name: 'tpmstate0', blockdev, throttleGroup };

    it('names the missing binary and its Debian package', async () => {
      await expect(startQsdFuseExport({ ...opts, qsdBin: join(dir, 'no-such-qsd') })).rejects.toMatchObject({
        code: 'HOST_UNSUPPORTED',
        message: `tpmstate0: ${join(dir, 'no-such-qsd')} is not installed (Debian package qemu-system-common)`,
      });
    });

    it("reports the daemon's own last output lines and leaves no pid file or export file behind", async () => {
      const fake = join(dir, 'fake-qsd');
      writeFileSync(fake, '#!/bin/sh\necho first >&2\necho "  " >&2\necho second >&2\necho third\necho fourth >&2\nexit 3\n', {
        mode: 0o755,
      });
      writeFileSync(qsdPaths(dir, 100).pid, '999999\n');
      await expect(startQsdFuseExport({ ...opts, qsdBin: fake })).rejects.toMatchObject({
        code: 'QEMU_FAILED',
        // stderr before stdout, blank lines dropped, the last three kept
        message: `tpmstate0: unable to start ${fake}: second - fourth - third`,
      });
      expect(existsSync(qsdPaths(dir, 100).pid)).toBe(false);
      expect(readdirSync(dir).filter((n) => n.endsWith('.fuse'))).toEqual([]);
    });
  });

  describe('QMP sequence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvmctl-qsd-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const { blockdev, throttleGroup } = tpmStateBlockdev('local:100/vm-100-disk-0.qcow2,size=4M,version=v2.0', pveTestProfile());

    /** A QMP peer that records the commands and, for block-export-add, whether the mountpoint file existed then. */
    function recorder(failOn?: string) {
      const calls: { command: string; args?: Record<string, unknown>; mountpointMode?: number }[] = [];
      return {
        calls,
        execute: async <T>(command: string, args?: Record<string, unknown>): Promise<T> => {
          const mountpoint = args?.mountpoint as string | undefined;
          calls.push({ command, args, ...(mountpoint ? { mountpointMode: statSync(mountpoint).mode & 0o777 } : {}) });
          if (command === failOn) throw new Error(`${command} failed`);
          return {} as T;
        },
      };
    }

    it('replaces a left-over throttle group, adds the chain, then exports it on an existing 0600 file', async () => {
      const qmp = recorder();
      const mountpoint = join(dir, 'qsd-100-tpmstate0.fuse');
      await attachAndExport(qmp, { name: 'tpmstate0', blockdev, throttleGroup }, mountpoint);
      expect(qmp.calls.map((c) => c.command)).toEqual(['object-del', 'object-add', 'blockdev-add', 'block-export-add']);
      expect(qmp.calls[0]?.args).toEqual({ id: 'throttle-drive-tpmstate0' });
      expect(qmp.calls[1]?.args).toBe(throttleGroup);
      expect(qmp.calls[2]?.args).toBe(blockdev);
      expect(qmp.calls[3]).toEqual({
        command: 'block-export-add',
        args: fuseExportArgs('tpmstate0', 'drive-tpmstate0', mountpoint, true),
        mountpointMode: 0o600,
      });
    });

    it('exports read-only for a read-only chain and does not export when the attach fails', async () => {
      const ro = recorder();
      await attachAndExport(ro, { name: 'tpmstate0', blockdev: { ...blockdev, 'read-only': true } }, join(dir, 'ro.fuse'));
      expect(ro.calls.map((c) => c.command)).toEqual(['blockdev-add', 'block-export-add']);
      expect(ro.calls[1]?.args?.writable).toBe(false);

      const failing = recorder('blockdev-add');
      await expect(attachAndExport(failing, { name: 'tpmstate0', blockdev, throttleGroup }, join(dir, 'f.fuse'))).rejects.toThrow(
        'blockdev-add failed',
      );
      // the throttle group is removed again; nothing is exported
      expect(failing.calls.map((c) => c.command)).toEqual(['object-del', 'object-add', 'blockdev-add', 'object-del']);
    });
  });
});
