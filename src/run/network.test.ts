import { describe, expect, it } from 'vitest';
import { createTaps, planTaps, removeTaps, tapsOf } from './network.js';

describe('tap planning', () => {
  it('names taps like qemu-server and takes the bridge MTU unless the NIC sets one', () => {
    const conf = {
      net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
      net2: 'e1000=BC:24:11:00:00:02,bridge=vmbr1,mtu=1400',
      net1: 'virtio=BC:24:11:00:00:03',
      memory: '512',
    };
    expect(planTaps(105, conf, { vmbr0: 9000, vmbr1: 1500 })).toEqual([
      { key: 'net0', ifname: 'tap105i0', bridge: 'vmbr0', mtu: 9000 },
      { key: 'net2', ifname: 'tap105i2', bridge: 'vmbr1', mtu: 1400 },
    ]);
    expect(planTaps(105, { net0: 'virtio,bridge=vmbr0,mtu=1' }, { vmbr0: 1450 })[0]?.mtu).toBe(1450);
    expect(tapsOf(105, conf).map((t) => t.ifname)).toEqual(['tap105i0', 'tap105i2']);
  });

  it("fails with pve-common's text when the bridge does not exist", () => {
    expect(() => planTaps(100, { net0: 'virtio,bridge=vmbr7' }, { vmbr0: 1500 })).toThrow("net0: bridge 'vmbr7' does not exist");
  });

  it('creates, plugs and on failure removes taps with ip', async () => {
    const calls: string[] = [];
    const ip = async (args: string[]) => {
      calls.push(args.join(' '));
      if (args.includes('tap100i1') && args[0] === 'link' && args[1] === 'set') throw new Error('boom');
    };
    const plans = planTaps(100, { net0: 'virtio,bridge=br0', net1: 'virtio,bridge=br0' }, { br0: 1500 });
    await expect(createTaps(plans, ip)).rejects.toThrow('boom');
    expect(calls).toEqual([
      'tuntap add dev tap100i0 mode tap',
      'link set tap100i0 master br0 mtu 1500 up',
      'tuntap add dev tap100i1 mode tap',
      'link set tap100i1 master br0 mtu 1500 up',
      'link del tap100i0',
      'link del tap100i1',
    ]);
    calls.length = 0;
    await removeTaps(plans.slice(0, 1), ip);
    expect(calls).toEqual(['link del tap100i0']);
  });
});
