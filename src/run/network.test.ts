import { describe, expect, it } from 'vitest';
import type { NetTools } from './net-tools.js';
import { createTaps, linkDownNics, planTaps, removeTaps, tapsOf } from './network.js';

/** Records tool calls; sysfs knows the bridges given (MTU 1500, not VLAN-aware). */
function recorder(bridges: string[], failOn?: (cmd: string) => boolean) {
  const calls: string[] = [];
  const tools: NetTools = {
    async run(tool, args) {
      const cmd = `${tool} ${args.join(' ')}`;
      calls.push(cmd);
      if (failOn?.(cmd)) throw new Error(`${cmd} failed`);
      return '[]';
    },
    async read(path) {
      const m = /^\/sys\/class\/net\/([^/]+)\/(.*)$/.exec(path);
      if (!m || !bridges.includes(m[1] as string)) return undefined;
      return (
        { mtu: '1500', 'bridge/vlan_filtering': '0', 'bridge/bridge_id': '8000.000000000000', ifindex: '3' } as Record<string, string>
      )[m[2] as string];
    },
    async write() {},
  };
  return { calls, tools };
}

describe('tap planning', () => {
  it('names taps like qemu-server and carries mtu, tag, trunks, rate, firewall and link_down', () => {
    const conf = {
      net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
      net2: 'e1000=BC:24:11:00:00:02,bridge=vmbr1,mtu=1400,tag=5,rate=2.5,firewall=1,link_down=1',
      net1: 'virtio=BC:24:11:00:00:03',
      net3: 'virtio=BC:24:11:00:00:04,bridge=vmbr1,trunks=10;20-30,queues=4,mtu=1',
      memory: '512',
    };
    expect(planTaps(105, conf, { vmbr0: 9000, vmbr1: 1500 })).toEqual([
      { key: 'net0', ifname: 'tap105i0', iface: 'tap105i0', bridge: 'vmbr0' },
      { key: 'net2', ifname: 'tap105i2', iface: 'tap105i2', bridge: 'vmbr1', tag: 5, rate: 2.5, firewall: true, linkDown: true },
      { key: 'net3', ifname: 'tap105i3', iface: 'tap105i3', bridge: 'vmbr1', trunks: '10;20-30', multiQueue: true },
    ]);
    expect(tapsOf(105, conf).map((t) => t.ifname)).toEqual(['tap105i0', 'tap105i2', 'tap105i3']);
    expect(linkDownNics({ ...conf, net1: 'virtio=BC:24:11:00:00:03,link_down=1' })).toEqual(['net1', 'net2']);
  });

  it("fails with pve-common's text when the bridge does not exist", () => {
    expect(() => planTaps(100, { net0: 'virtio,bridge=vmbr7' }, { vmbr0: 1500 })).toThrow("net0: bridge 'vmbr7' does not exist");
  });

  it('removes every tap it made when plugging one fails', async () => {
    const { calls, tools } = recorder(['br0'], (cmd) => cmd.startsWith('ip link set tap100i1 master'));
    const plans = planTaps(100, { net0: 'virtio,bridge=br0', net1: 'virtio,bridge=br0' }, { br0: 1500 });
    await expect(createTaps(plans, tools)).rejects.toThrow("net1: can't enslave 'tap100i1' to 'br0'");
    expect(calls.filter((c) => /tuntap add|link del|master/.test(c))).toEqual([
      'ip link del tap100i0',
      'ip tuntap add dev tap100i0 mode tap',
      'ip link set tap100i0 master br0',
      'ip link del tap100i1',
      'ip tuntap add dev tap100i1 mode tap',
      'ip link set tap100i1 master br0',
      'ip link del tap100i0',
      'ip link del tap100i1',
    ]);
    calls.length = 0;
    await removeTaps(plans.slice(0, 1), tools);
    expect(calls).toEqual(['ip link del tap100i0']);
  });

  it('refuses trunks on a bridge that is not VLAN-aware, and a tag without a physical port', async () => {
    const { tools } = recorder(['br0']);
    await expect(createTaps(planTaps(100, { net0: 'virtio,bridge=br0,trunks=10' }, { br0: 1500 }), tools)).rejects.toThrow(
      'net0: vlan aware feature need to be enabled to use trunks',
    );
    await expect(createTaps(planTaps(100, { net0: 'virtio,bridge=br0,tag=7' }, { br0: 1500 }), tools)).rejects.toThrow(
      "net0: no physical interface on bridge 'br0'",
    );
  });
});
