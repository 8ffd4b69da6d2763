import { describe, expect, it } from 'vitest';
import { tapPlug, tapRateLimit, tapUnplug } from './bridge-plug.js';
import type { NetTools } from './net-tools.js';

/**
 * pve-common's command sequences for the VLAN cases this project's CI kernel cannot run
 * (no bridge VLAN filtering, no 802.1q); the namespace test covers the rest for real.
 */
function fakeHost(vlanAwareBridges: string[], plainBridges: string[], ipLinkJson = '[]') {
  const calls: string[] = [];
  const existing = new Set([...vlanAwareBridges, ...plainBridges]);
  const tools: NetTools = {
    async run(tool, args) {
      calls.push(`${tool} ${args.join(' ')}`);
      if (tool === 'ip' && args[0] === 'link' && args[1] === 'add')
        existing.add(args[2] === 'link' ? (args[5] as string) : ((args[2] === 'name' ? args[3] : args[2]) as string));
      if (args.includes('-json')) return args.includes('master') ? ipLinkJson : '[{}]';
      return '';
    },
    async read(path) {
      const m = /^\/sys\/class\/net\/([^/]+)\/(.*)$/.exec(path);
      if (!m || !existing.has(m[1] as string)) return undefined;
      const file = m[2] as string;
      if (file === 'bridge/vlan_filtering') return vlanAwareBridges.includes(m[1] as string) ? '1' : '0';
      if (
        file.startsWith('bridge/') &&
        !vlanAwareBridges.includes(m[1] as string) &&
        !plainBridges.includes(m[1] as string) &&
        !(m[1] as string).includes('v')
      )
        return undefined;
      return file === 'mtu' ? '1500' : file === 'ifindex' ? '7' : file.startsWith('bridge/') ? '1' : undefined;
    },
    async write() {},
  };
  return { calls, tools };
}

const vlanCalls = (calls: string[]) => calls.filter((c) => c.startsWith('bridge vlan') || c.includes(' master '));

describe('tapPlug on a VLAN-aware bridge', () => {
  it('tag: only that VLAN, untagged PVID', async () => {
    const { calls, tools } = fakeHost(['vmbr0'], []);
    await tapPlug(tools, { iface: 'tap100i0', bridge: 'vmbr0', tag: 10 });
    expect(vlanCalls(calls)).toEqual([
      'ip link set tap100i0 master vmbr0',
      'bridge vlan del dev tap100i0 vid 1-4094',
      'bridge vlan add dev tap100i0 vid 10 pvid untagged',
    ]);
  });

  it('trunks: the listed VLANs plus VLAN 1 untagged; no tag and no trunks: 2-4094 tagged', async () => {
    const a = fakeHost(['vmbr0'], []);
    await tapPlug(a.tools, { iface: 'tap100i1', bridge: 'vmbr0', trunks: '20;30-32' });
    expect(vlanCalls(a.calls).slice(1)).toEqual([
      'bridge vlan del dev tap100i1 vid 1-4094',
      'bridge vlan add dev tap100i1 vid 20',
      'bridge vlan add dev tap100i1 vid 30-32',
      'bridge vlan add dev tap100i1 vid 1 pvid untagged',
    ]);
    const b = fakeHost(['vmbr0'], []);
    await tapPlug(b.tools, { iface: 'tap100i2', bridge: 'vmbr0' });
    expect(vlanCalls(b.calls).slice(1)).toEqual([
      'bridge vlan del dev tap100i2 vid 1-4094',
      'bridge vlan add dev tap100i2 vid 2-4094',
      'bridge vlan add dev tap100i2 vid 1 pvid untagged',
    ]);
  });

  it('firewall=1 with a tag: the tag goes on fwpr, the tap and fwln sit on the fwbr', async () => {
    const { calls, tools } = fakeHost(['vmbr0'], []);
    await tapPlug(tools, { iface: 'tap100i0', bridge: 'vmbr0', tag: 10, firewall: true });
    expect(calls).toContain('ip link add fwbr100i0 type bridge');
    expect(calls).toContain('ip link add name fwln100i0 mtu 1500 type veth peer name fwpr100p0 mtu 1500');
    expect(vlanCalls(calls)).toEqual([
      'ip link set fwpr100p0 master vmbr0',
      'bridge vlan del dev fwpr100p0 vid 1-4094',
      'bridge vlan add dev fwpr100p0 vid 10 pvid untagged',
      'ip link set fwln100i0 master fwbr100i0',
      'ip link set tap100i0 master fwbr100i0',
    ]);
  });
});

describe('tapPlug on a plain bridge', () => {
  it('a tag creates <bridge>v<tag> fed by <port>.<tag> of each physical port', async () => {
    const ports = JSON.stringify([
      { ifname: 'eno1' },
      { ifname: 'tap7i0', linkinfo: { info_kind: 'tun' } },
      { ifname: 'bond0', linkinfo: { info_kind: 'bond' } },
    ]);
    const { calls, tools } = fakeHost([], ['vmbr1'], ports);
    await tapPlug(tools, { iface: 'tap100i0', bridge: 'vmbr1', tag: 5 });
    expect(calls.filter((c) => c.startsWith('ip link add'))).toEqual([
      'ip link add vmbr1v5 type bridge',
      'ip link add link eno1 name eno1.5 type vlan id 5',
      'ip link add link bond0 name bond0.5 type vlan id 5',
    ]);
    expect(calls.filter((c) => c.startsWith('ip link set') && c.includes(' master '))).toEqual([
      'ip link set eno1.5 master vmbr1v5',
      'ip link set bond0.5 master vmbr1v5',
      'ip link set tap100i0 master vmbr1v5',
    ]);
    expect(calls.some((c) => c.startsWith('bridge vlan'))).toBe(false);
  });

  it("refuses a strange tag with pve-common's text", async () => {
    const { tools } = fakeHost([], ['vmbr1'], JSON.stringify([{ ifname: 'eno1' }]));
    await expect(tapPlug(tools, { iface: 'tap100i0', bridge: 'vmbr1', tag: 4095 })).rejects.toThrow("got strange vlan tag '4095'");
  });
});

describe('rate limit and unplug', () => {
  it('rate in MB/s becomes bytes/s for htb and the ingress policer, after removing an old limit', async () => {
    const { calls, tools } = fakeHost([], ['vmbr1']);
    await tapRateLimit(tools, 'tap100i0', 1.5);
    expect(calls.slice(4)).toEqual([
      'tc qdisc add dev tap100i0 root handle 1: htb default 1',
      'tc class add dev tap100i0 parent 1: classid 1:1 htb rate 1572864bps burst 1048576b',
      'tc qdisc add dev tap100i0 handle ffff: ingress',
      'tc filter add dev tap100i0 parent ffff: prio 50 basic police rate 1572864bps burst 1048576b mtu 64kb drop',
    ]);
    expect(calls.slice(0, 4).every((c) => c.startsWith('tc ') && c.includes(' del '))).toBe(true);
  });

  it('unplug deletes the firewall veth and bridge', async () => {
    const { calls, tools } = fakeHost([], ['vmbr1']);
    await tapPlug(tools, { iface: 'tap100i0', bridge: 'vmbr1', firewall: true });
    calls.length = 0;
    await tapUnplug(tools, 'tap100i0');
    expect(calls).toEqual(['ip link delete dev fwln100i0', 'ip link delete dev fwbr100i0']);
  });
});
