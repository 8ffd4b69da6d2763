import { describe, expect, it } from 'vitest';
import { pveTestProfile } from '../host/profiles/pve-test.js';
import { parseStorageCfg, printStorageCfg } from './config.js';
import { qemuBlockdevOptions, volumePath, volumeQemuSnapshotMethod, volumeSnapshotInfo } from './path.js';
import { checkedVolumeFormat, checkVolumeStorageType, parseVolname, parseVolumeId } from './volume.js';
import type { StorageConfig } from './types.js';

const host = pveTestProfile();
const storage = host.storage;

describe('parseStorageCfg / printStorageCfg', () => {
  const text = [
    'dir: local',
    '\tpath /var/lib/vz',
    '\tcontent iso,vztmpl,backup',
    '',
    'lvmthin: local-lvm',
    '\tthinpool data',
    '\tvgname pve',
    '\tcontent rootdir,images',
    '',
    '# a comment',
    'rbd: ceph',
    '\tpool cpool',
    '\tkrbd 1',
    '',
  ].join('\n');

  it('parses sections, content lists, booleans and shared types', () => {
    const cfg = parseStorageCfg(text);
    expect(cfg['local']).toEqual({
      type: 'dir',
      path: '/var/lib/vz',
      content: ['iso', 'vztmpl', 'backup'],
    });
    expect(cfg['local-lvm']).toEqual({
      type: 'lvmthin',
      thinpool: 'data',
      vgname: 'pve',
      content: ['rootdir', 'images'],
    });
    expect(cfg['ceph']).toEqual({
      type: 'rbd',
      pool: 'cpool',
      krbd: true,
      content: ['images'],
      shared: true,
    });
  });

  it('adds the local dir storage when it is missing', () => {
    const cfg = parseStorageCfg('lvm: vg\n\tvgname veegee\n');
    expect(cfg['local']?.type).toBe('dir');
    expect(cfg['local']?.path).toBe('/var/lib/vz');
    expect(cfg['vg']?.content).toEqual(['images', 'rootdir']);
  });

  it('keeps a non-PVE local storage when asked', () => {
    const cfg = parseStorageCfg('dir: local\n\tpath /srv/cvm/images\n', { pveLocal: false });
    expect(cfg['local']).toEqual({ type: 'dir', path: '/srv/cvm/images', content: ['images', 'rootdir'] });
    expect(parseStorageCfg('dir: local\n\tpath /srv/cvm/images\n')['local']?.path).toBe('/var/lib/vz');
  });

  it('round-trips through printStorageCfg', () => {
    const cfg = parseStorageCfg(text);
    expect(parseStorageCfg(printStorageCfg(cfg))).toEqual(cfg);
    expect(printStorageCfg({ x: { type: 'dir', path: '/p', content: ['images'] } })).toBe('dir: x\n\tpath /p\n\tcontent images\n');
  });

  it('rejects unknown types and stray lines', () => {
    expect(() => parseStorageCfg('foo: bar\n')).toThrow(/unknown storage type 'foo'/);
    expect(() => parseStorageCfg('\tpath /x\n')).toThrow(/unable to parse/);
  });
});

describe('volume ids and names', () => {
  it('parses volume ids like PVE', () => {
    expect(parseVolumeId('local:100/vm-100-disk-0.raw')).toEqual({
      storeid: 'local',
      volname: '100/vm-100-disk-0.raw',
    });
    expect(parseVolumeId('/dev/sda')).toBeUndefined();
    expect(parseVolumeId('cdrom')).toBeUndefined();
  });

  it('reads format and owner from volume names per plugin', () => {
    expect(parseVolname(storage, 'local:8006/vm-8006-disk-0.qcow2')).toMatchObject({
      vtype: 'images',
      vmid: '8006',
      format: 'qcow2',
    });
    expect(parseVolname(storage, 'local:8006/base-8006-disk-1.qcow2').isBase).toBe(true);
    expect(parseVolname(storage, 'cifs-store:iso/one.iso')).toMatchObject({
      vtype: 'iso',
      name: 'one.iso',
      format: 'raw',
    });
    expect(parseVolname(storage, 'lvm-store:vm-8006-disk-0.qcow2').format).toBe('qcow2');
    expect(parseVolname(storage, 'lvm-store:vm-8006-disk-0').format).toBe('raw');
    expect(parseVolname(storage, 'rbd-store:vm-8006-disk-0')).toMatchObject({
      vmid: '8006',
      format: 'raw',
    });
    expect(checkedVolumeFormat(storage, 'local:100/vm-100-disk-1.qcow2')).toBe('qcow2');
    expect(() => parseVolname(storage, 'local:8006/foo')).toThrow("unable to parse volume filename 'foo'");
  });

  it('answers by plugin type and name, again and again (remembered answers)', () => {
    // the same name is an LVM volume but no directory volume: the plugin type is part of the answer
    for (let i = 0; i < 3; i++) {
      expect(parseVolname(storage, 'lvm-store:vm-8006-disk-0').vtype).toBe('images');
      expect(() => parseVolname(storage, 'local:vm-8006-disk-0')).toThrow("unable to parse directory volume name 'vm-8006-disk-0'");
      expect(() => parseVolname(storage, 'local:8006/foo')).toThrow("unable to parse volume filename 'foo'");
    }
    const parsed = parseVolname(storage, 'local:8006/vm-8006-disk-0.qcow2');
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(parseVolname(storage, 'local:iso/one.iso')).toMatchObject({ vtype: 'iso', name: 'one.iso' });
  });

  it('dies with the exact texts for unknown storages and wrong content types', () => {
    expect(() => volumePath(storage, 'nosuch:8006/vm-8006-disk-0.raw')).toThrow("storage 'nosuch' does not exist");
    expect(() => checkVolumeStorageType(storage, 'noimages:8006/vm-8006-disk-0.raw')).toThrow(
      "storage 'noimages' does not support content-type 'images'",
    );
    expect(() => checkVolumeStorageType(storage, 'local:iso/zero.iso')).not.toThrow();
  });
});

describe('volumePath per storage type (facts from the cfg2cmd expectations)', () => {
  it.each([
    ['local:8006/vm-8006-disk-0.raw', '/var/lib/vz/images/8006/vm-8006-disk-0.raw'],
    ['local:100/vm-100-disk-1.qcow2', '/var/lib/vz/images/100/vm-100-disk-1.qcow2'],
    ['local:iso/zero.iso', '/var/lib/vz/template/iso/zero.iso'],
    ['cifs-store:iso/one.iso', '/mnt/pve/cifs-store/template/iso/one.iso'],
    ['btrfs-store:8006/vm-8006-disk-0.raw', '/butter/bread/images/8006/vm-8006-disk-0/disk.raw'],
    ['krbd-store:vm-8006-disk-0', '/dev/rbd-pve/fc4181a6-56eb-4f68-b452-8ba1f381ca2a/cpool/vm-8006-disk-0'],
    ['lvm-store:vm-8006-disk-0', '/dev/veegee/vm-8006-disk-0'],
    ['local-lvm:vm-8006-disk-0', '/dev/pve/vm-8006-disk-0'],
    ['zfs-over-iscsi-store:vm-8006-disk-0', 'iscsi://127.0.0.1/iqn.2019-10.org.test:foobar/0'],
  ])('%s → %s', (volid, path) => {
    expect(volumePath(storage, volid)).toBe(path);
  });

  it('builds the legacy rbd: path with escaped monitors and no keyring', () => {
    expect(volumePath(storage, 'rbd-store:vm-8006-disk-0')).toBe(
      'rbd:cpool/vm-8006-disk-0:mon_host=127.0.0.42;127.0.0.21;[\\:\\:1]:auth_supported=none',
    );
  });

  it('brackets IPv6 monitors and keeps ports like CephConfig hostlist', () => {
    const cfg = {
      ceph: { type: 'rbd', content: ['images'], pool: 'p', monhost: '10.0.0.1:6789 [fd00::2]:3300;fd00::3.6789,ceph-a' },
    } as StorageConfig;
    expect(volumePath(cfg, 'ceph:vm-1-disk-0')).toBe(
      'rbd:p/vm-1-disk-0:mon_host=10.0.0.1\\:6789;[fd00\\:\\:2]\\:3300;[fd00\\:\\:3]\\:6789;ceph-a:auth_supported=none',
    );
  });

  it('resolves zfspool zvols and snapshot names', () => {
    const cfg = {
      ...storage,
      zp: { type: 'zfspool' as const, pool: 'rpool/data', content: ['images'] },
    };
    expect(volumePath(cfg, 'zp:vm-100-disk-0')).toBe('/dev/zvol/rpool/data/vm-100-disk-0');
    expect(volumePath(cfg, 'zp:subvol-100-disk-0')).toBe('/rpool/data/subvol-100-disk-0');
    expect(volumePath(storage, 'localsnapext:8006/vm-8006-disk-0.qcow2', 'snap2')).toBe(
      '/var/lib/vzsnapext/images/8006/snap-snap2-vm-8006-disk-0.qcow2',
    );
  });
});

describe('qemuBlockdevOptions', () => {
  it('gives file/host_device for paths, rbd with monitors, iscsi for ZFS over iSCSI', () => {
    expect(qemuBlockdevOptions(host, 'local:8006/vm-8006-disk-0.qcow2')).toEqual({
      driver: 'file',
      filename: '/var/lib/vz/images/8006/vm-8006-disk-0.qcow2',
    });
    expect(qemuBlockdevOptions(host, 'lvm-store:vm-8006-disk-0')).toEqual({
      driver: 'host_device',
      filename: '/dev/veegee/vm-8006-disk-0',
    });
    expect(qemuBlockdevOptions(host, 'local-lvm:vm-8006-disk-0').driver).toBe('host_device');
    expect(qemuBlockdevOptions(host, 'rbd-store:vm-8006-disk-0')).toEqual({
      driver: 'rbd',
      pool: 'cpool',
      image: 'vm-8006-disk-0',
      server: [
        { host: '127.0.0.42', port: '3300' },
        { host: '127.0.0.21', port: '3300' },
        { host: '::1', port: '3300' },
      ],
      'auth-client-required': ['none'],
    });
    expect(qemuBlockdevOptions(host, 'zfs-over-iscsi-store:vm-8006-disk-0')).toEqual({
      driver: 'iscsi',
      transport: 'tcp',
      portal: '127.0.0.1',
      target: 'iqn.2019-10.org.test:foobar',
      lun: 0,
    });
  });

  it('knows which volumes are snapshot volume chains', () => {
    expect(volumeQemuSnapshotMethod(storage, 'localsnapext:8006/vm-8006-disk-0.qcow2')).toBe('mixed');
    expect(volumeQemuSnapshotMethod(storage, 'local:8006/vm-8006-disk-0.qcow2')).toBe('qemu');
    expect(volumeQemuSnapshotMethod(storage, 'lvm-store:vm-8006-disk-0.qcow2')).toBe('mixed');
    expect(volumeQemuSnapshotMethod(storage, 'lvm-store:vm-8006-disk-0')).toBe('storage');
    expect(volumeSnapshotInfo(host, 'lvm-store:vm-8006-disk-0.qcow2')['snap2']).toEqual({
      file: '/dev/veegee/snap2-vm-8006-disk-0.qcow2',
      parent: 'snap1',
    });
    expect(volumeSnapshotInfo(host, 'local:8006/vm-8006-disk-0.qcow2')).toEqual({});
  });
});
