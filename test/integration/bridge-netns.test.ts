/**
 * Bridged tap NICs for real, in a network namespace this test creates (never the host's
 * interfaces): a VLAN-aware bridge and a plain bridge with a VLAN uplink port; the built CLI
 * runs inside the namespace (`ip netns exec`), so cvmctl's `ip`/`bridge`/`tc` calls, the
 * sysfs it reads and the QEMU it starts all see only the namespace. Checks what pve-bridge
 * would have made (tag/trunk VLAN filters, `<bridge>v<tag>` + `<port>.<tag>`, the
 * fwbr/fwln/fwpr firewall bridge, MTU, htb + ingress policer for `rate`, link_down through
 * QMP), then that stop, a crashed QEMU and failed starts leave no device behind.
 * Kernel features are probed inside the namespace: this project's CI kernel (Firecracker) has
 * bridges, taps, veth and htb, but no bridge VLAN filtering, no 802.1q devices and no tc
 * policer; the VLAN cases then print why they are skipped (they are unit-tested against
 * pve-common's command sequence in src/run/bridge-plug.test.ts), and `rate` is checked to fail
 * cleanly with tc's own message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { alive, makeTestRoot, QEMU_BINARY, type TestRoot, waitFor } from './helpers.js';

const NS = `cvmt${process.pid}`;
const BIN = resolve('bin/cvmctl');

function netnsWorks(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  const probe = `cvmtprobe${process.pid}`;
  const res = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (res.status !== 0) return `ip netns add failed: ${res.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}
const skipReason = !QEMU_BINARY ? 'qemu-system-x86_64 missing' : netnsWorks();
if (skipReason) console.log(`bridge-netns tests skipped: ${skipReason}`);

const inNs = (cmd: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], { encoding: 'utf8' });
const sh = (line: string) => {
  for (const cmd of line.split('\n').filter((l) => l.trim())) inNs('ip', ...cmd.trim().split(/\s+/));
};

interface Link {
  ifname: string;
  master?: string;
  mtu: number;
  flags: string[];
}
function links(): Map<string, Link> {
  return new Map((JSON.parse(inNs('ip', '-j', 'link', 'show')) as Link[]).map((l) => [l.ifname, l]));
}
function vlans(dev: string): { vlan: number; flags?: string[] }[] {
  const out = JSON.parse(inNs('bridge', '-j', 'vlan', 'show', 'dev', dev)) as {
    ifname: string;
    vlans: { vlan: number; vlanEnd?: number; flags?: string[] }[];
  }[];
  return (out[0]?.vlans ?? []).flatMap((v) => {
    const ids = v.vlanEnd ? Array.from({ length: v.vlanEnd - v.vlan + 1 }, (_, i) => v.vlan + i) : [v.vlan];
    return ids.map((id) => ({ vlan: id, ...(v.flags ? { flags: [...v.flags].sort() } : {}) }));
  });
}
const ours = (m: Map<string, Link>) => [...m.keys()].filter((n) => /^(tap|fw)/.test(n)).sort();

function cli(root: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const res = spawnSync('ip', ['netns', 'exec', NS, process.execPath, BIN, '--root', root, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: res.status ?? 1, stdout: res.stdout, stderr: res.stderr };
}

describe.skipIf(Boolean(skipReason))(`bridged tap NICs in a network namespace${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let r: TestRoot;
  const kernel = { vlanFiltering: false, police: false };
  const tryNs = (...args: string[]) => spawnSync('ip', ['netns', 'exec', NS, ...args]).status === 0;

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    sh(`link set lo up
        link add vmbr0 type bridge
        link set vmbr0 mtu 1450 up
        link add vmbr1 type bridge
        link set vmbr1 up`);
    kernel.vlanFiltering = tryNs('ip', 'link', 'add', 'vmbr2', 'type', 'bridge', 'vlan_filtering', '1');
    if (kernel.vlanFiltering) sh('link set vmbr2 up');
    tryNs('ip', 'tuntap', 'add', 'dev', 'probe0', 'mode', 'tap');
    tryNs('tc', 'qdisc', 'add', 'dev', 'probe0', 'handle', 'ffff:', 'ingress');
    kernel.police = tryNs(
      'tc',
      'filter',
      'add',
      'dev',
      'probe0',
      'parent',
      'ffff:',
      'prio',
      '50',
      'basic',
      'police',
      'rate',
      '1000bps',
      'burst',
      '1000b',
      'mtu',
      '64kb',
      'drop',
    );
    tryNs('ip', 'link', 'del', 'probe0');
    if (!kernel.vlanFiltering) console.log('bridge-netns: kernel has no bridge VLAN filtering - tag/trunks case skipped');
    if (!kernel.police) console.log('bridge-netns: kernel has no tc policer - rate checked to fail cleanly');
    r = makeTestRoot('cvmctl-netns-');
  });

  // a failing test must not leave its VM and devices to the next one
  afterEach(() => {
    const runDir = join(r.root, 'run');
    for (const name of existsSync(runDir) ? readdirSync(runDir) : []) {
      const m = /^(\d+)\.pid$/.exec(name);
      if (m) cli(r.root, 'stop', m[1] as string);
    }
  });

  afterAll(() => {
    r?.cleanup();
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('plugs taps with the firewall bridge, bridge/NIC MTU and link_down, and removes them on stop', async () => {
    r.writeConfig(
      9421,
      [
        'memory: 64',
        'kvm: 0',
        'vga: none',
        'net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1',
        'net1: e1000=BC:24:11:00:00:03,bridge=vmbr1,link_down=1',
        'net2: virtio=BC:24:11:00:00:04,bridge=vmbr0,mtu=1300',
        'net3: e1000=BC:24:11:00:00:05,bridge=vmbr1',
        '',
      ].join('\n'),
    );
    const start = cli(r.root, 'start', '9421', '--json');
    expect(start.stderr.split('\n').filter((l) => l && !l.startsWith('WARN: '))).toEqual([]);
    expect(start.code).toBe(0);
    const { pid } = JSON.parse(start.stdout) as { pid: number };
    r.track(pid);
    // QEMU opens the taps cvmctl prepared; the NIC's mtu= is the guest's host_mtu
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContainEqual(expect.stringMatching(/^type=tap,id=net2,ifname=tap9421i2,script=no,downscript=no(,vhost=on)?$/));
    expect(argv).toContainEqual(expect.stringMatching(/^virtio-net-pci,.*netdev=net2,.*,host_mtu=1300$/));

    const l = links();
    // firewall=1: tap -> fwbr9421i0 <- fwln9421i0 == fwpr9421p0 -> vmbr0, all with the bridge MTU
    expect(l.get('tap9421i0')).toMatchObject({ master: 'fwbr9421i0', mtu: 1450 });
    expect(l.get('tap9421i0')?.flags).toContain('PROMISC');
    expect(l.get('fwbr9421i0')?.mtu).toBe(1450);
    expect(l.get('fwln9421i0')).toMatchObject({ master: 'fwbr9421i0', mtu: 1450 });
    expect(l.get('fwpr9421p0')).toMatchObject({ master: 'vmbr0', mtu: 1450 });
    expect(l.get('tap9421i1')).toMatchObject({ master: 'vmbr1', mtu: 1500 });
    // the NIC's mtu= is the guest's (host_mtu=1300); the tap keeps the bridge MTU like pve-common's
    expect(l.get('tap9421i2')).toMatchObject({ master: 'vmbr0', mtu: 1450 });
    expect(ours(l)).toEqual(['fwbr9421i0', 'fwln9421i0', 'fwpr9421p0', 'tap9421i0', 'tap9421i1', 'tap9421i2', 'tap9421i3']);

    // link_down=1: QEMU's NIC link is down, the others are up
    const qmp = await QmpClient.connect(join(r.root, 'run', '9421.qmp'));
    try {
      const info = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info network' });
      expect(info).toMatch(/net0: index=0,type=tap,ifname=tap9421i0,script=no,downscript=no/);
      // the guest-visible e1000 STATUS register (BAR0 + 8): bit 1 "link up" clear on net1, set on net3
      const linkUp = async (nic: string) => {
        const bar = await waitFor(async () => {
          const buses = await qmp.execute<{ devices: { qdev_id: string; regions: { address: number }[] }[] }[]>('query-pci');
          const addr = buses[0]?.devices.find((d) => d.qdev_id === nic)?.regions[0]?.address;
          return addr && addr > 0 && addr < 0xffffffff ? addr : undefined; // once SeaBIOS has mapped the BAR
        }, 30_000);
        const word = await qmp.execute<string>('human-monitor-command', { 'command-line': `xp /1wx ${(bar as number) + 8}` });
        return (Number.parseInt(word.split(': ')[1] as string, 16) & 2) !== 0;
      };
      expect(await linkUp('net1')).toBe(false);
      expect(await linkUp('net3')).toBe(true);
    } finally {
      await qmp.close();
    }

    expect(cli(r.root, 'stop', '9421')).toMatchObject({ code: 0 });
    expect(alive(pid)).toBe(false);
    expect(ours(links())).toEqual([]);
  }, 180_000);

  it('rate=5 becomes an htb class and an ingress policer of 5 MiB/s (or fails cleanly without a policer)', () => {
    r.writeConfig(9422, 'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:51,bridge=vmbr1,rate=5\n');
    const res = cli(r.root, 'start', '9422', '--json');
    if (kernel.police) {
      expect(res.code).toBe(0);
      r.track((JSON.parse(res.stdout) as { pid: number }).pid);
      const kinds = (JSON.parse(inNs('tc', '-j', 'qdisc', 'show', 'dev', 'tap9422i0')) as { kind: string }[]).map((q) => q.kind);
      expect(kinds.sort()).toEqual(['htb', 'ingress']);
      expect(inNs('tc', 'class', 'show', 'dev', 'tap9422i0')).toMatch(/rate 41943Kbit/);
      expect(inNs('tc', 'filter', 'show', 'dev', 'tap9422i0', 'parent', 'ffff:')).toMatch(/police/);
      expect(cli(r.root, 'stop', '9422').code).toBe(0);
    } else {
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        /^net0: tc filter add dev tap9422i0 parent ffff: prio 50 basic police rate 5242880bps burst 1048576b mtu 64kb drop failed - .+\n$/,
      );
    }
    expect(ours(links())).toEqual([]);
  }, 120_000);

  it('tag and trunks on a VLAN-aware bridge', (ctx) => {
    if (!kernel.vlanFiltering) {
      ctx.skip();
      return;
    }
    r.writeConfig(
      9427,
      'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:61,bridge=vmbr2,tag=10,firewall=1\nnet1: virtio=BC:24:11:00:00:62,bridge=vmbr2,trunks=20;30-32\n',
    );
    const res = cli(r.root, 'start', '9427', '--json');
    expect(res.code).toBe(0);
    r.track((JSON.parse(res.stdout) as { pid: number }).pid);
    expect(vlans('fwpr9427p0')).toEqual([{ vlan: 10, flags: ['Egress Untagged', 'PVID'] }]);
    expect(vlans('tap9427i1')).toEqual([
      { vlan: 1, flags: ['Egress Untagged', 'PVID'] },
      { vlan: 20 },
      { vlan: 30 },
      { vlan: 31 },
      { vlan: 32 },
    ]);
    expect(cli(r.root, 'stop', '9427').code).toBe(0);
    expect(ours(links())).toEqual([]);
  }, 120_000);

  it('hotplugs a bridged NIC: tap and firewall bridge first, live bridge/firewall changes, removal cleans up', async () => {
    r.writeConfig(9428, 'memory: 64\nkvm: 0\nvga: none\n');
    const start = cli(r.root, 'start', '9428', '--json');
    expect(start.code, start.stderr).toBe(0);
    r.track((JSON.parse(start.stdout) as { pid: number }).pid);

    expect(cli(r.root, 'set', '9428', '--net1', 'virtio=BC:24:11:00:00:72,bridge=vmbr1,firewall=1')).toMatchObject({ code: 0, stderr: '' });
    let l = links();
    expect(l.get('tap9428i1')?.master).toBe('fwbr9428i1');
    expect(l.get('fwpr9428p1')?.master).toBe('vmbr1');

    // bridge change on a live NIC: the same tap is re-plugged (firewall bridge now on vmbr0)
    expect(cli(r.root, 'set', '9428', '--net1', 'virtio=BC:24:11:00:00:72,bridge=vmbr0,firewall=1')).toMatchObject({ code: 0, stderr: '' });
    l = links();
    expect(l.get('fwpr9428p1')?.master).toBe('vmbr0');
    // firewall off: the tap goes straight onto the bridge, the firewall devices go away
    expect(cli(r.root, 'set', '9428', '--net1', 'virtio=BC:24:11:00:00:72,bridge=vmbr0')).toMatchObject({ code: 0, stderr: '' });
    l = links();
    expect(l.get('tap9428i1')?.master).toBe('vmbr0');
    expect(ours(l)).toEqual(['tap9428i1']);

    // no guest OS acknowledges the PCI unplug: paused it times out (tap kept, deletion pending);
    // QEMU completes the request at a reset, and the retried deletion removes the tap
    expect(cli(r.root, 'suspend', '9428').code).toBe(0);
    expect(cli(r.root, 'set', '9428', '--delete', 'net1')).toMatchObject({
      code: 1,
      stderr: "net1: hotplug problem - error on hot-unplugging device 'net1' - still busy in guest?\n",
    });
    expect(ours(links())).toEqual(['tap9428i1']);
    expect(cli(r.root, 'resume', '9428').code).toBe(0);
    expect(cli(r.root, 'reset', '9428').code).toBe(0);
    const net1Gone = async () => {
      const c = await QmpClient.connect(join(r.root, 'run', '9428.qmp'));
      try {
        const buses = await c.execute<{ devices: { qdev_id: string }[] }[]>('query-pci');
        return buses.some((bus) => bus.devices.some((d) => d.qdev_id === 'net1')) ? undefined : true;
      } finally {
        await c.close();
      }
    };
    expect(await waitFor(net1Gone, 20_000)).toBe(true);
    expect(cli(r.root, 'set', '9428', '--delete', 'net1')).toMatchObject({ code: 0, stderr: '' });
    expect(ours(links())).toEqual([]);
    expect(cli(r.root, 'stop', '9428').code).toBe(0);
    expect(ours(links())).toEqual([]);
  }, 180_000);

  it('cleans the devices of a QEMU killed with SIGKILL on the next stop and on the next start', async () => {
    r.writeConfig(9423, 'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:11,bridge=vmbr0,firewall=1\n');
    const first = cli(r.root, 'start', '9423', '--json');
    expect(first.code).toBe(0);
    const pid1 = (JSON.parse(first.stdout) as { pid: number }).pid;
    r.track(pid1);
    process.kill(pid1, 'SIGKILL');
    expect(await waitFor(() => (alive(pid1) ? undefined : true), 10_000)).toBe(true);
    // taps made with ip tuntap outlive QEMU, and so does the firewall bridge
    expect(ours(links())).toEqual(['fwbr9423i0', 'fwln9423i0', 'fwpr9423p0', 'tap9423i0']);
    expect(cli(r.root, 'status', '9423').stdout).toBe('status: stopped\n');
    expect(cli(r.root, 'stop', '9423')).toMatchObject({ code: 0, stdout: 'VM 9423 was not running\n' });
    expect(ours(links())).toEqual([]);

    const second = cli(r.root, 'start', '9423', '--json');
    const pid2 = (JSON.parse(second.stdout) as { pid: number }).pid;
    r.track(pid2);
    process.kill(pid2, 'SIGKILL');
    await waitFor(() => (alive(pid2) ? undefined : true), 10_000);
    // a start after a crash replaces the leftovers instead of failing on them
    const third = cli(r.root, 'start', '9423', '--json');
    expect(third.code).toBe(0);
    r.track((JSON.parse(third.stdout) as { pid: number }).pid);
    expect(ours(links())).toEqual(['fwbr9423i0', 'fwln9423i0', 'fwpr9423p0', 'tap9423i0']);
    expect(cli(r.root, 'stop', '9423').code).toBe(0);
    expect(ours(links())).toEqual([]);
  }, 180_000);

  it('a failed start leaves no tap behind: refused plug, QEMU error, missing bridge', () => {
    r.writeConfig(
      9424,
      'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:21,bridge=vmbr0,firewall=1\nnet1: virtio=BC:24:11:00:00:22,bridge=vmbr1,trunks=7\n',
    );
    expect(cli(r.root, 'start', '9424')).toMatchObject({ code: 1, stderr: 'net1: vlan aware feature need to be enabled to use trunks\n' });
    expect(ours(links())).toEqual([]);

    r.writeConfig(
      9425,
      'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:31,bridge=vmbr0,firewall=1\nargs: -device no-such-device\n',
    );
    const res = cli(r.root, 'start', '9425');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^start failed: QEMU exited .*no-such-device/);
    expect(ours(links())).toEqual([]);

    r.writeConfig(9426, 'memory: 64\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:41,bridge=vmbr9\n');
    expect(cli(r.root, 'start', '9426')).toMatchObject({ code: 1, stderr: "net0: bridge 'vmbr9' does not exist\n" });
    expect(ours(links())).toEqual([]);
  }, 120_000);
});
