import { describe, expect, it } from 'vitest';
import { deviceBootorder } from './bootorder.js';
import { mustNet, type TestCtxOptions, testContext } from './drives-test-env.js';
import { emitNetworks, parseNetValue, printNetDevice } from './net.js';

function nets(conf: Record<string, string>, opts: TestCtxOptions = {}) {
  const ctx = testContext(conf, opts);
  ctx.bootOrder = deviceBootorder(conf);
  const devices: string[] = [];
  emitNetworks(ctx, devices);
  return { devices, ctx };
}

const TAP =
  'type=tap,id=net0,ifname=tap8006i0,script=/usr/libexec/qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on';

describe('parseNetValue', () => {
  it('splits the model=MAC shortcut', () => {
    expect(parseNetValue('virtio=A2:C0:43:77:08:A0,bridge=vmbr0,mtu=900')).toEqual({
      model: 'virtio',
      macaddr: 'A2:C0:43:77:08:A0',
      bridge: 'vmbr0',
      mtu: '900',
    });
    expect(parseNetValue('model=e1000,macaddr=BC:24:11:00:00:01')).toMatchObject({ model: 'e1000' });
    expect(parseNetValue('e1000')?.macaddr).toMatch(/^BC:24:11(:[0-9A-F]{2}){3}$/);
  });
});

describe('emitNetworks', () => {
  it('adds host_mtu=1500 and host_tunnel=off on the latest machine (simple1)', () => {
    const { devices, ctx } = nets({
      net0: 'virtio=A2:C0:43:77:08:A0,bridge=vmbr0',
    });
    expect(devices).toEqual([
      '-netdev',
      TAP,
      '-device',
      'virtio-net-pci,mac=A2:C0:43:77:08:A0,netdev=net0,bus=pci.0,addr=0x12,id=net0,rx_queue_size=1024,tx_queue_size=256,bootindex=300,host_mtu=1500,host_tunnel=off',
    ]);
    expect(ctx.useVirtio).toBe(true);
  });

  it('keeps the old layout on machine 5.0 (netdev)', () => {
    const { devices } = nets({ net0: 'virtio=A2:C0:43:77:08:A0,bridge=vmbr0,mtu=900' }, { machineVersion: '5.0' });
    expect(devices[3]).toBe('virtio-net-pci,mac=A2:C0:43:77:08:A0,netdev=net0,bus=pci.0,addr=0x12,id=net0,bootindex=300,host_mtu=900');
  });

  it('adds queues and vectors, packed rings from 7.1 (netdev-*-multiqueues)', () => {
    const v70 = nets({ net0: 'virtio=A2:C0:43:77:08:A0,bridge=vmbr0,mtu=900,queues=2' }, { machineVersion: '7.0' }).devices;
    expect(v70[1]).toBe(`${TAP},queues=2`);
    expect(v70[3]).toBe(
      'virtio-net-pci,mac=A2:C0:43:77:08:A0,netdev=net0,bus=pci.0,addr=0x12,id=net0,vectors=6,mq=on,bootindex=300,host_mtu=900',
    );
    const v71 = nets({ net0: 'virtio=A2:C0:43:77:08:A0,bridge=vmbr0,mtu=900,queues=2' }, { machineVersion: '7.1' }).devices;
    expect(v71[3]).toBe(
      'virtio-net-pci,mac=A2:C0:43:77:08:A0,netdev=net0,bus=pci.0,addr=0x12,id=net0,vectors=6,mq=on,packed=on,rx_queue_size=1024,tx_queue_size=256,bootindex=300,host_mtu=900',
    );
  });

  it('inherits the bridge MTU (netdev_vxlan) and rejects larger or tiny MTUs', () => {
    const { devices } = nets({
      net0: 'virtio=A2:C0:43:77:08:A0,bridge=vxlan_bridge',
    });
    expect(devices[3]).toContain(',host_mtu=1450,host_tunnel=off');
    expect(() => nets({ net0: 'virtio=A2:C0:43:77:08:A0,bridge=vxlan_bridge,mtu=1500' })).toThrow(
      "netdev net0: MTU '1500' is bigger than the bridge MTU '1450' - adjust the MTU",
    );
    expect(() => nets({ net0: 'virtio=A2:C0:43:77:08:A0,bridge=vmbr0,mtu=500' })).toThrow(
      "netdev net0: MTU '500' is smaller than the IP minimum MTU '576'",
    );
  });

  it('adds PXE ROMs for .pxe machines (pinned-version-pxe) and raises +pve1 on 10.0', () => {
    const { devices } = nets({ net0: 'virtio=A2:C0:43:77:08:A1,bridge=vmbr0' }, { machineVersion: '5.1', useOldBiosFiles: true });
    expect(devices[3]).toBe(
      'virtio-net-pci,mac=A2:C0:43:77:08:A1,netdev=net0,bus=pci.0,addr=0x12,id=net0,bootindex=300,romfile=pxe-virtio.rom',
    );
  });

  it('uses user networking without a bridge and warns about ignored MTUs', () => {
    const { devices, ctx } = nets({
      name: 'simple',
      net1: 'e1000=A2:C0:43:77:08:A0,mtu=1400',
    });
    expect(devices[1]).toBe('type=user,id=net1,hostname=simple');
    expect(devices[3]).toBe('e1000,mac=A2:C0:43:77:08:A0,netdev=net1,bus=pci.0,addr=0x13,id=net1,bootindex=300');
    expect(ctx.warnings).toEqual(["netdev net1: ignoring MTU '1400', no bridge configured"]);
  });

  it('opens the tap cvmctl prepared on hosts without the Proxmox bridge scripts', () => {
    const ctx = testContext({ net0: 'virtio=A2:C0:43:77:08:A0,bridge=br0' });
    ctx.host.paths.bridgeScript = null;
    ctx.host.paths.bridgeDownScript = null;
    const devices: string[] = [];
    emitNetworks(ctx, devices);
    expect(devices[1]).toBe('type=tap,id=net0,ifname=tap8006i0,script=no,downscript=no,vhost=on');
  });

  it('forces or drops host_mtu for migration', () => {
    const ctx = testContext({}, { machineVersion: '9.2' });
    const net = mustNet('virtio=A2:C0:43:77:08:A0,bridge=vmbr0');
    expect(printNetDevice(ctx, net, 'net0', 1500)).toContain(',host_mtu=1500');
    expect(printNetDevice(ctx, net, 'net0', 0)).not.toContain('host_mtu');
  });
});
