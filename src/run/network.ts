/**
 * @module run/network
 * Tap NICs without pve-bridge scripts. A `netN` with `bridge=` becomes a tap device named like
 * qemu-server's (`tap<vmid>i<N>`) that QEMU opens with `script=no`. cvmctl checks the bridge
 * exists before anything is started (pve-common's text: `bridge 'vmbr0' does not exist`),
 * creates the tap (`ip tuntap`, multi-queue when the NIC has `queues`) and plugs it as
 * pve-bridge does (`run/bridge-plug`: MTU, VLAN tag/trunks, firewall bridge, rate limit); it
 * is unplugged and deleted after QEMU has gone, or when a failed start is undone. NICs without
 * a bridge use QEMU user networking: nothing to do.
 */

import { CvmError } from '../errors.js';
import { parseNet } from '../config/net.js';
import type { ConfigSection } from '../config/types.js';
import { tapCreate, tapPlug, tapUnplug, type TapPlugSpec } from './bridge-plug.js';
import { hostNetTools, type NetTools, tryRun } from './net-tools.js';

export interface TapPlan extends TapPlugSpec {
  key: string;
  ifname: string;
  /** `link_down=1`: QEMU's link is set down once it runs. */
  linkDown?: boolean;
  /** virtio `queues` > 1: the tap needs several queues. */
  multiQueue?: boolean;
}

function netKeys(conf: ConfigSection): string[] {
  return Object.keys(conf)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
}

/** The plan for one NIC value, or undefined for a NIC without a bridge (user networking). */
export function tapPlanFor(vmid: number, key: string, value: string): TapPlan | undefined {
  const net = parseNet(value);
  if (!net.bridge) return undefined;
  const plan: TapPlan = { key, ifname: `tap${vmid}i${key.slice(3)}`, iface: `tap${vmid}i${key.slice(3)}`, bridge: net.bridge };
  if (net.tag !== undefined) plan.tag = Number(net.tag);
  if (net.trunks) plan.trunks = String(net.trunks);
  if (Number(net.firewall)) plan.firewall = true;
  if (net.rate !== undefined && Number(net.rate) > 0) plan.rate = Number(net.rate);
  if (Number(net.link_down)) plan.linkDown = true;
  if (net.model === 'virtio' && Number(net.queues) > 1) plan.multiQueue = true;
  return plan;
}

/** The tap devices a config's bridged NICs use (no host checks: for clean-up). */
export function tapsOf(vmid: number, conf: ConfigSection): TapPlan[] {
  const plans: TapPlan[] = [];
  for (const key of netKeys(conf)) {
    try {
      const plan = tapPlanFor(vmid, key, conf[key] as string);
      if (plan) plans.push(plan);
    } catch {
      // an unparsable NIC never got a tap
    }
  }
  return plans;
}

/** NICs with `link_down=1` (bridged or not): their QEMU link goes down once the VM runs. */
export function linkDownNics(conf: ConfigSection): string[] {
  return netKeys(conf).filter((key) => {
    try {
      return Number(parseNet(conf[key] as string).link_down) === 1;
    } catch {
      return false;
    }
  });
}

/** Tap devices a config needs; throws when a bridge is missing on this host. */
export function planTaps(vmid: number, conf: ConfigSection, bridgeMtu: Record<string, number>): TapPlan[] {
  const plans: TapPlan[] = [];
  for (const key of netKeys(conf)) {
    const plan = tapPlanFor(vmid, key, conf[key] as string);
    if (!plan) continue;
    if (bridgeMtu[plan.bridge] === undefined) {
      throw new CvmError('HOST_UNSUPPORTED', `${key}: bridge '${plan.bridge}' does not exist`, {
        details: { key, bridge: plan.bridge, bridges: Object.keys(bridgeMtu) },
      });
    }
    plans.push(plan);
  }
  return plans;
}

/** Create and plug the taps; on failure every device made for them is removed again. */
export async function createTaps(plans: TapPlan[], tools: NetTools = hostNetTools): Promise<void> {
  const done: TapPlan[] = [];
  try {
    for (const p of plans) {
      // a tap left by a QEMU that was killed would make `tuntap add` fail
      await removeTaps([p], tools);
      done.push(p);
      await tools.run('ip', ['tuntap', 'add', 'dev', p.ifname, 'mode', 'tap', ...(p.multiQueue ? ['multi_queue'] : [])]);
      await tapCreate(tools, p);
      await tapPlug(tools, p);
    }
  } catch (err) {
    await removeTaps(done, tools);
    throw err instanceof CvmError ? new CvmError(err.code, `${done[done.length - 1]?.key}: ${err.message}`, { cause: err }) : err;
  }
}

/** Unplug and delete tap devices; missing ones are fine (QEMU may have closed them already). */
export async function removeTaps(plans: TapPlan[], tools: NetTools = hostNetTools): Promise<void> {
  for (const p of plans) {
    await tapUnplug(tools, p.ifname).catch(() => undefined);
    await tryRun(tools, 'ip', ['link', 'del', p.ifname]);
  }
}
