import { describe, expect, it } from 'vitest';
import { pveTestProfile } from '../host/profiles/pve-test.js';
import { fuseExportArgs, qsdDaemonArgs, qsdFuseExportPath, qsdPaths } from './qsd.js';
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
});
