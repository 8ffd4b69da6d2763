/**
 * @module run/bridge-plug
 * What pve-bridge does for a tap NIC, after pve-common's Network.pm (tap_create, tap_plug,
 * tap_unplug, tap_rate_limit) for Linux bridges: the tap comes up promiscuous with the bridge
 * MTU; on a VLAN-aware bridge it gets its `tag` as untagged PVID (default VLAN 1) and the
 * `trunks` (or 2-4094 without a tag); on a plain bridge a tag means the bridge `<bridge>v<tag>`
 * fed by `<port>.<tag>` of each physical port; `firewall=1` puts the tap behind its own bridge
 * `fwbr<vmid>i<n>`, linked to the real bridge by the veth pair `fwln<vmid>i<n>`/`fwpr<vmid>p<n>`
 * (the names pve-firewall filters on); `rate` (MB/s) becomes an htb class plus an ingress
 * policer. Unplugging removes the firewall bridge and veth again. Error texts are pve-common's.
 */

import { CvmError } from '../errors.js';
import { disableIpv6, ifaceExists, type NetTools, tryRun } from './net-tools.js';

export interface TapPlugSpec {
  iface: string;
  bridge: string;
  tag?: number;
  /** `;`-separated VLAN ids/ranges (`10;20-30`). */
  trunks?: string;
  firewall?: boolean;
  /** MB/s; 0 or undefined: no limit. */
  rate?: number;
}

const fail = (msg: string): never => {
  throw new CvmError('IO', msg);
};

/** compute_fwbr_names for `tap<vmid>i<n>`. */
export function firewallNames(iface: string): { fwbr: string; vethfw: string; vethfwpeer: string } | undefined {
  const m = /^tap(\d+)i(\d+)$/.exec(iface);
  if (!m) return undefined;
  return { fwbr: `fwbr${m[1]}i${m[2]}`, vethfw: `fwln${m[1]}i${m[2]}`, vethfwpeer: `fwpr${m[1]}p${m[2]}` };
}

/** read_bridge_mtu. */
async function bridgeMtu(tools: NetTools, bridge: string): Promise<number> {
  const mtu = await tools.read(`/sys/class/net/${bridge}/mtu`);
  if (mtu === undefined) fail(`bridge '${bridge}' does not exist`);
  return Number(mtu);
}

async function vlanAware(tools: NetTools, bridge: string): Promise<boolean> {
  return (await tools.read(`/sys/class/net/${bridge}/bridge/vlan_filtering`)) === '1';
}

/**
 * tap_create: up, promiscuous, with the bridge MTU. The NIC's `mtu=` is the guest's
 * (`host_mtu` of virtio-net); pve-common gives every bridge port the bridge MTU.
 */
export async function tapCreate(tools: NetTools, spec: TapPlugSpec): Promise<void> {
  const mtu = await bridgeMtu(tools, spec.bridge);
  try {
    await disableIpv6(tools, spec.iface);
    await tools.run('ip', ['link', 'set', spec.iface, 'up', 'promisc', 'on', 'mtu', String(mtu)]);
  } catch {
    fail('interface activation failed');
  }
}

/** bridge_add_interface: MTU, no IPv6, master, and the VLAN filter of a VLAN-aware bridge. */
async function bridgeAddInterface(tools: NetTools, bridge: string, iface: string, tag?: number, trunks?: string): Promise<void> {
  await tryRun(tools, 'ip', ['link', 'set', iface, 'mtu', String(await bridgeMtu(tools, bridge))]);
  await disableIpv6(tools, iface);
  await tools.run('ip', ['link', 'set', iface, 'master', bridge]).catch(() => fail(`can't enslave '${iface}' to '${bridge}'`));
  if (!(await vlanAware(tools, bridge))) return;
  await tools
    .run('bridge', ['vlan', 'del', 'dev', iface, 'vid', '1-4094'])
    .catch((e: Error) => fail(`failed to remove default vlan tags of ${iface} - ${e.message}`));
  if (trunks) {
    for (const trunk of trunks.split(';')) {
      await tools
        .run('bridge', ['vlan', 'add', 'dev', iface, 'vid', trunk])
        .catch((e: Error) => fail(`unable to add vlan ${trunk} to interface ${iface} - ${e.message}`));
    }
  } else if (!tag) {
    await tools
      .run('bridge', ['vlan', 'add', 'dev', iface, 'vid', '2-4094'])
      .catch((e: Error) => fail(`unable to add default vlan tags to interface ${iface} - ${e.message}`));
  }
  const pvid = String(tag || 1);
  await tools
    .run('bridge', ['vlan', 'add', 'dev', iface, 'vid', pvid, 'pvid', 'untagged'])
    .catch((e: Error) => fail(`unable to add vlan ${pvid} to interface ${iface} - ${e.message}`));
}

async function activate(tools: NetTools, iface: string, mtu?: number): Promise<void> {
  const args = ['link', 'set', iface, 'up', ...(mtu ? ['mtu', String(mtu)] : [])];
  await tools.run('ip', args).catch((e: Error) => fail(`can't activate interface '${iface}' - ${e.message}`));
}

/** Ports of a bridge that are physical NICs, bonds or VLAN devices (get_physical_bridge_ports). */
async function physicalBridgePorts(tools: NetTools, bridge: string): Promise<string[]> {
  const links = JSON.parse(await tools.run('ip', ['-details', '-json', 'link', 'show', 'master', bridge])) as {
    ifname: string;
    linkinfo?: { info_kind?: string };
  }[];
  return links
    .filter((l) => !l.linkinfo?.info_kind || l.linkinfo.info_kind === 'bond' || l.linkinfo.info_kind === 'vlan')
    .map((l) => l.ifname);
}

const BRIDGE_SETTINGS = [
  'ageing_time',
  'stp_state',
  'priority',
  'forward_delay',
  'hello_time',
  'max_age',
  'multicast_snooping',
  'multicast_querier',
];

/** copy_bridge_config: the settings of the real bridge onto a derived one. */
async function copyBridgeConfig(tools: NetTools, from: string, to: string): Promise<void> {
  if (from === to) return;
  for (const name of BRIDGE_SETTINGS) {
    const v0 = await tools.read(`/sys/class/net/${from}/bridge/${name}`);
    const v1 = await tools.read(`/sys/class/net/${to}/bridge/${name}`);
    if (v0 !== undefined && v0 !== v1) await tools.write(`/sys/class/net/${to}/bridge/${name}`, v0).catch(() => undefined);
  }
}

async function createBridge(tools: NetTools, name: string): Promise<void> {
  if (await ifaceExists(tools, name)) return;
  if (name.length >= 16) fail(`failed to create interface '${name}' - the interface name ${name} is too long`);
  await tools.run('ip', ['link', 'add', name, 'type', 'bridge']).catch(() => fail(`failed to create interface '${name}'`));
  await disableIpv6(tools, name);
}

/** activate_bridge_vlan: a plain bridge with a tag uses `<bridge>v<tag>`, fed by `<port>.<tag>`. */
async function activateBridgeVlan(tools: NetTools, bridge: string, tag: number | undefined): Promise<string> {
  if (!(await ifaceExists(tools, bridge))) fail(`bridge '${bridge}' is not active`);
  if (tag === undefined) return bridge;
  if (tag < 1 || tag > 4094) fail(`got strange vlan tag '${tag}'`);
  const bridgevlan = `${bridge}v${tag}`;
  const ports = await physicalBridgePorts(tools, bridge);
  if (ports.length === 0) fail(`no physical interface on bridge '${bridge}'`);
  await createBridge(tools, bridgevlan);
  await tryRun(tools, 'ip', ['link', 'set', bridgevlan, 'mtu', String(await bridgeMtu(tools, bridge))]);
  for (const port of ports) {
    const portvlan = `${port}.${tag}`;
    if (!(await ifaceExists(tools, portvlan))) {
      if (portvlan.length >= 16) fail(`can't add vlan tag ${tag} to interface ${port} - the interface name ${portvlan} is too long`);
      await tools
        .run('ip', ['link', 'add', 'link', port, 'name', portvlan, 'type', 'vlan', 'id', String(tag)])
        .catch((e: Error) => fail(`can't add vlan tag ${tag} to interface ${port} - ${e.message}`));
      await disableIpv6(tools, portvlan);
    }
    await activate(tools, portvlan);
    const master = await tools
      .run('ip', ['-json', 'link', 'show', portvlan])
      .then((o) => (JSON.parse(o) as { master?: string }[])[0]?.master);
    if (master && master !== bridgevlan) fail(`interface ${portvlan} already exist in bridge ${master}`);
    if (!master) await bridgeAddInterface(tools, bridgevlan, portvlan);
  }
  await disableIpv6(tools, bridgevlan);
  await activate(tools, bridgevlan);
  return bridgevlan;
}

/** cleanup_firewall_bridge: the veth pair and the fwbr of a tap, if they exist. */
async function cleanupFirewallBridge(tools: NetTools, iface: string): Promise<void> {
  const names = firewallNames(iface);
  if (!names) return;
  if (await ifaceExists(tools, names.vethfw)) await tryRun(tools, 'ip', ['link', 'delete', 'dev', names.vethfw]);
  if (await ifaceExists(tools, names.fwbr)) await tryRun(tools, 'ip', ['link', 'delete', 'dev', names.fwbr]);
}

/** create_firewall_bridge_linux. */
async function createFirewallBridge(tools: NetTools, iface: string, bridge: string, tag?: number, trunks?: string): Promise<void> {
  const names = firewallNames(iface) ?? fail(`can't create firewall bridge for random interface name '${iface}'`);
  const mtu = await bridgeMtu(tools, bridge);
  await createBridge(tools, names.fwbr);
  await activate(tools, names.fwbr, mtu);
  await copyBridgeConfig(tools, bridge, names.fwbr);
  if (!(await ifaceExists(tools, names.vethfw))) {
    await tools
      .run('ip', [
        'link',
        'add',
        'name',
        names.vethfw,
        'mtu',
        String(mtu),
        'type',
        'veth',
        'peer',
        'name',
        names.vethfwpeer,
        'mtu',
        String(mtu),
      ])
      .catch((e: Error) => fail(`can't create interface ${names.vethfw} - ${e.message}`));
  }
  await disableIpv6(tools, names.vethfw);
  await disableIpv6(tools, names.vethfwpeer);
  await activate(tools, names.vethfw, mtu);
  await activate(tools, names.vethfwpeer, mtu);
  await bridgeAddInterface(tools, bridge, names.vethfwpeer, tag, trunks);
  await bridgeAddInterface(tools, names.fwbr, names.vethfw);
  await bridgeAddInterface(tools, names.fwbr, iface);
}

/** setup_tc_rate_limit via tap_rate_limit: `rate` in MB/s, 1 MiB burst; no rate removes the limit. */
export async function tapRateLimit(tools: NetTools, iface: string, rateMBps: number | undefined): Promise<void> {
  await tryRun(tools, 'tc', ['class', 'del', 'dev', iface, 'parent', '1:', 'classid', '1:1']);
  await tryRun(tools, 'tc', ['filter', 'del', 'dev', iface, 'parent', 'ffff:', 'protocol', 'all', 'pref', '50', 'u32']);
  await tryRun(tools, 'tc', ['qdisc', 'del', 'dev', iface, 'ingress']);
  await tryRun(tools, 'tc', ['qdisc', 'del', 'dev', iface, 'root']);
  if (!rateMBps) return;
  const rate = Math.trunc(rateMBps * 1024 * 1024);
  const burst = 1024 * 1024;
  await tools.run('tc', ['qdisc', 'add', 'dev', iface, 'root', 'handle', '1:', 'htb', 'default', '1']);
  await tools.run('tc', [
    'class',
    'add',
    'dev',
    iface,
    'parent',
    '1:',
    'classid',
    '1:1',
    'htb',
    'rate',
    `${rate}bps`,
    'burst',
    `${burst}b`,
  ]);
  await tools.run('tc', ['qdisc', 'add', 'dev', iface, 'handle', 'ffff:', 'ingress']);
  await tools.run('tc', [
    'filter',
    'add',
    'dev',
    iface,
    'parent',
    'ffff:',
    'prio',
    '50',
    'basic',
    'police',
    'rate',
    `${rate}bps`,
    'burst',
    `${burst}b`,
    'mtu',
    '64kb',
    'drop',
  ]);
}

/** tap_plug for a Linux bridge. */
export async function tapPlug(tools: NetTools, spec: TapPlugSpec): Promise<void> {
  if ((await tools.read(`/sys/class/net/${spec.bridge}/bridge/bridge_id`)) === undefined) {
    fail(`bridge '${spec.bridge}' is neither a linux nor an OVS bridge!`);
  }
  await cleanupFirewallBridge(tools, spec.iface);
  let bridge = spec.bridge;
  let tag = spec.tag;
  if (!(await vlanAware(tools, bridge))) {
    if (spec.trunks) fail('vlan aware feature need to be enabled to use trunks');
    const vlanBridge = await activateBridgeVlan(tools, bridge, tag);
    await copyBridgeConfig(tools, bridge, vlanBridge);
    bridge = vlanBridge;
    tag = undefined;
  }
  if (spec.firewall) await createFirewallBridge(tools, spec.iface, bridge, tag, spec.trunks);
  else await bridgeAddInterface(tools, bridge, spec.iface, tag, spec.trunks);
  await tapRateLimit(tools, spec.iface, spec.rate);
}

/** tap_unplug: off its bridge, firewall bridge and veth removed. */
export async function tapUnplug(tools: NetTools, iface: string): Promise<void> {
  if ((await tools.read(`/sys/class/net/${iface}/brport/state`)) !== undefined) {
    await tools.run('ip', ['link', 'set', iface, 'nomaster']).catch(() => fail(`can't unenslave '${iface}'`));
  }
  await cleanupFirewallBridge(tools, iface);
}
