import { describe, expect, it } from 'vitest';
import { blockdevArg, deviceArg, netdevArg, objectArg } from './argv-parts.js';
import { parseHotplugFeatures } from './features.js';
import { netdevAddArgs } from './plug.js';

const argv = [
  'qemu-system-x86_64',
  '-object',
  '{"id":"throttle-drive-scsi1","limits":{},"qom-type":"throttle-group"}',
  '-object',
  'iothread,id=iothread-virtio1',
  '-device',
  'virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5',
  '-blockdev',
  '{"driver":"throttle","node-name":"drive-scsi1","throttle-group":"throttle-drive-scsi1"}',
  '-device',
  'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=1,drive=drive-scsi1,id=scsi1,device_id=drive-scsi1',
  '-device',
  'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=11,drive=drive-scsi11,id=scsi11',
  '-netdev',
  'type=tap,id=net1,ifname=tap100i1,script=no,downscript=no,vhost=on,queues=4',
];

describe('argv parts', () => {
  it('finds a device by its exact id, not by prefix', () => {
    expect(deviceArg(argv, 'scsi1')).toBe(
      'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=1,drive=drive-scsi1,id=scsi1,device_id=drive-scsi1',
    );
    expect(deviceArg(argv, 'scsi11')).toContain('lun=11');
    expect(deviceArg(argv, 'scsi2')).toBeUndefined();
    expect(netdevArg(argv, 'net1')).toContain('ifname=tap100i1');
    expect(blockdevArg(argv, 'drive-scsi1')).toEqual({
      driver: 'throttle',
      'node-name': 'drive-scsi1',
      'throttle-group': 'throttle-drive-scsi1',
    });
    expect(objectArg(argv, 'throttle-drive-scsi1')).toEqual({ id: 'throttle-drive-scsi1', limits: {}, 'qom-type': 'throttle-group' });
    expect(objectArg(argv, 'iothread-virtio1')).toEqual({ 'qom-type': 'iothread', id: 'iothread-virtio1' });
  });

  it('types netdev_add arguments like qemu_netdevadd', () => {
    expect(netdevAddArgs(netdevArg(argv, 'net1') as string)).toEqual({
      type: 'tap',
      id: 'net1',
      ifname: 'tap100i1',
      script: 'no',
      downscript: 'no',
      vhost: true,
      queues: 4,
    });
  });

  it('reads the hotplug option like parse_hotplug_features', () => {
    expect([...parseHotplugFeatures('1')]).toEqual(['network', 'disk', 'usb']);
    expect([...parseHotplugFeatures('0')]).toEqual([]);
    expect([...parseHotplugFeatures('disk,cpu')]).toEqual(['disk', 'cpu']);
    expect(() => parseHotplugFeatures('disk,gpu')).toThrow("invalid hotplug feature 'gpu'");
  });
});
