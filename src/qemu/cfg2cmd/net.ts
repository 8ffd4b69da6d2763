/**
 * @module qemu/cfg2cmd/net
 * NICs (net0…net31): the host side `-netdev` (tap on a bridge with qemu-server's bridge
 * scripts, or user-mode networking; vhost and multiqueue) and the guest `-device` (model,
 * MAC, PCI slot, queue sizes, bootindex, `host_mtu` from the bridge, PXE ROMs for `.pxe`
 * machines, `host_tunnel`), with the machine-version guards of print_netdevice_full.
 */

import { optValue } from './opt-value.js';
import { netFormat } from '../../config/options/network.js';
import { readPropertyString } from '../../schema/reader.js';
import type { Cfg2CmdContext } from './context.js';
import { generateError, truthy } from './drives-common.js';
import { pciAddr } from './pci.js';
import { indexedKeys } from './indexed-keys.js';

export const MAX_NETS = 32;
const NET_KEYS = indexedKeys('net', MAX_NETS);


/** A parsed NIC (parse_net): `model`, `macaddr`, `bridge`, `queues`, `mtu`, `host-tunnel`, … */
export type NetLike = Record<string, string | undefined> & {
  model: string;
  macaddr?: string;
};

/** parse_net for valid values (the schema's reader: `<model>=<mac>` sets both, a bare value is the model). */
export function parseNetValue(value: string): NetLike | undefined {
  const net = readPropertyString(netFormat, value);
  if (net['model'] === undefined) return undefined;
  // parse_net invents a MAC when none is configured (Proxmox OUI BC:24:11, random rest)
  if (net['macaddr'] === undefined) net['macaddr'] = randomMac();
  return net as NetLike;
}

function randomMac(): string {
  const bytes = [0xbc, 0x24, 0x11, ...Array.from({ length: 3 }, () => Math.floor(Math.random() * 256))];
  return bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

/** Whether the VM runs on its host's architecture (vhost only then). */
function isNativeArch(ctx: Cfg2CmdContext): boolean {
  return ctx.arch === ctx.hostArch;
}

/** print_netdev_full: the `-netdev` value. */
export function printNetdev(ctx: Cfg2CmdContext, net: NetLike, netid: string, hotplug = false): string {
  const m = /^net(\d+)$/.exec(netid);
  const i = m ? Number(m[1]) : 0;
  if (i >= MAX_NETS) generateError(`got strange net id '${i}'`);
  const ifname = `tap${ctx.vmid}i${i}`;
  if (ifname.length >= 16) generateError(`interface name '${ifname}' is too long (max 15 character)`);
  const vhost = isNativeArch(ctx) && ctx.host.kernelHasVhostNet && net.model === 'virtio' ? ',vhost=on' : '';
  const vmname = truthy(ctx.conf['name']) ? ctx.conf['name'] : `vm${ctx.vmid}`;
  let netdev: string;
  const paths = ctx.host.paths;
  if (truthy(net['bridge']) && paths.bridgeScript === null) {
    // stock QEMU host without Proxmox's bridge scripts: cvmctl creates and plugs the tap
    // itself (run/network) before QEMU or netdev_add opens it
    netdev = `type=tap,id=${netid},ifname=${ifname},script=no,downscript=no${vhost}`;
  } else if (truthy(net['bridge'])) {
    const up = paths.bridgeScript as string;
    const script = hotplug ? `${up}-hotplug` : up;
    const down = paths.bridgeDownScript ?? '/usr/libexec/qemu-server/pve-bridgedown';
    netdev = `type=tap,id=${netid},ifname=${ifname},script=${optValue(script)},downscript=${optValue(down)}${vhost}`;
  } else {
    netdev = `type=user,id=${netid},hostname=${vmname}`;
  }
  if (truthy(net['queues']) && net.model === 'virtio') netdev += `,queues=${net['queues']}`;
  return netdev;
}

const PXE_ROMS: Record<string, string> = {
  'virtio-net-pci': 'pxe-virtio.rom',
  e1000: 'pxe-e1000.rom',
  e1000e: 'pxe-e1000e.rom',
  ne2k: 'pxe-ne2k_pci.rom',
  pcnet: 'pxe-pcnet.rom',
  rtl8139: 'pxe-rtl8139.rom',
};

/** The MTU of a host bridge (PVE::Network::read_bridge_mtu), from host facts. */
function bridgeMtu(ctx: Cfg2CmdContext, bridge: string): number {
  const known = ctx.host.bridgeMtu[bridge];
  if (known !== undefined) return known;
  if (ctx.host.defaultBridgeMtu !== null) return ctx.host.defaultBridgeMtu;
  return generateError(`bridge '${bridge}' does not exist`);
}

/**
 * print_netdevice_full: the `-device` value. `hostMtuMigration` forces host_mtu (0: omit it)
 * for migration compatibility, like the `nets-host-mtu` option.
 */
export function printNetDevice(ctx: Cfg2CmdContext, net: NetLike, netid: string, hostMtuMigration?: number): string {
  const device = net.model === 'virtio' ? 'virtio-net-pci' : net.model;
  let str = `${device},mac=${net.macaddr},netdev=${netid}${pciAddr(ctx, netid)},id=${netid}`;
  const queues = Number(net['queues'] ?? 0);
  if (queues > 1 && net.model === 'virtio') {
    // 2 vectors per queue pair plus config and control
    str += `,vectors=${queues * 2 + 2},mq=on`;
    if (ctx.minVersion(7, 1)) str += ',packed=on';
  }
  if (ctx.minVersion(7, 1) && net.model === 'virtio') str += ',rx_queue_size=1024,tx_queue_size=256';
  if (truthy(net['bootindex'])) str += `,bootindex=${net['bootindex']}`;

  let mtu: number | undefined = net['mtu'] !== undefined ? Number(net['mtu']) : undefined;
  const skipHostMtu = hostMtuMigration !== undefined && hostMtuMigration === 0;
  if (net.model === 'virtio' && truthy(net['bridge']) && !skipHostMtu) {
    const brMtu = bridgeMtu(ctx, net['bridge'] as string);
    if (hostMtuMigration) mtu = hostMtuMigration;
    if (mtu === undefined || mtu === 1) {
      mtu = brMtu;
    } else if (mtu < 576) {
      generateError(`netdev ${netid}: MTU '${mtu}' is smaller than the IP minimum MTU '576'`);
    } else if (mtu > brMtu) {
      generateError(
        `netdev ${netid}: MTU '${mtu}' is bigger than the bridge MTU '${brMtu}' - adjust the MTU for the network device in the VM configuration, while ensuring that the bridge is configured as desired.`,
      );
    }
    if (ctx.minVersion(10, 0, 1) || hostMtuMigration) str += `,host_mtu=${mtu}`;
    else if (mtu !== 1500) str += `,host_mtu=${mtu}`;
  } else if (mtu !== undefined) {
    const prefix = `netdev ${netid}: ignoring MTU '${net['mtu']}'`;
    if (skipHostMtu) {
      if (ctx.minVersion(10, 0, 1) || mtu !== 1500) {
        ctx.warnings.push(`${prefix}, not used on the source side according to migration parameters`);
      }
    } else if (!truthy(net['bridge'])) {
      ctx.warnings.push(`${prefix}, no bridge configured`);
    } else {
      ctx.warnings.push(`${prefix}, not using VirtIO`);
    }
  }
  if (ctx.useOldBiosFiles) {
    const rom = PXE_ROMS[device];
    if (rom) str += `,romfile=${rom}`;
  }
  if (net.model === 'virtio') {
    const hostTunnel = net['host-tunnel'];
    if (ctx.minVersion(11, 0, 1)) {
      if (!truthy(hostTunnel)) str += ',host_tunnel=off';
    } else if (ctx.minVersion(10, 2)) {
      if (hostTunnel !== undefined && !truthy(hostTunnel)) str += ',host_tunnel=off';
    }
  }
  return str;
}

/**
 * The NIC loop of config_to_command. `netsHostMtu` is the parsed `nets-host-mtu` option
 * (`net0=1500,…`) used when starting for an incoming migration.
 */
export function emitNetworks(ctx: Cfg2CmdContext, devices: string[], netsHostMtu: Record<string, number> = {}): void {
  for (const netid of NET_KEYS) {
    const value = ctx.conf[netid];
    if (!value) continue;
    const net = parseNetValue(value);
    if (!net) continue;
    if (net.model === 'virtio') ctx.useVirtio = true;
    const bootindex = ctx.bootOrder[netid];
    if (bootindex) net['bootindex'] = String(bootindex);
    devices.push('-netdev', printNetdev(ctx, net, netid));
    // machine 10.0 needs +pve1 to tell host_mtu behaviour apart
    ctx.versionGuard(10, 0, 1);
    devices.push('-device', printNetDevice(ctx, net, netid, netsHostMtu[netid]));
  }
}
