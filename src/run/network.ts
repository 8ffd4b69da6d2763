/**
 * @module run/network
 * Tap NICs without pve-bridge scripts. A `netN` with `bridge=` becomes a tap device named like
 * qemu-server's (`tap<vmid>i<N>`). cvmctl checks the bridge exists before anything is started
 * (pve-common's text: `bridge 'vmbr0' does not exist`), creates the tap with `ip tuntap`,
 * enslaves it to the bridge with the bridge's MTU (or the NIC's `mtu=`), brings it up, and
 * deletes it after QEMU has gone. NICs without a bridge use QEMU user networking: nothing to do.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';
import type { ConfigSection } from '../config/types.js';

const run = promisify(execFile);

export interface TapPlan {
  key: string;
  ifname: string;
  bridge: string;
  mtu: number;
  tag?: number;
}

/** `k=v,k=v` (first bare item is the model=mac pair) → map; enough for bridge/mtu/tag. */
function netOptions(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function netKeys(conf: ConfigSection): string[] {
  return Object.keys(conf)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
}

/** The tap devices a config's bridged NICs use (no host checks: for clean-up). */
export function tapsOf(vmid: number, conf: ConfigSection): TapPlan[] {
  return netKeys(conf)
    .map((key) => ({ key, opts: netOptions(conf[key] as string) }))
    .filter(({ opts }) => Boolean(opts.bridge))
    .map(({ key, opts }) => ({ key, ifname: `tap${vmid}i${key.slice(3)}`, bridge: opts.bridge as string, mtu: Number(opts.mtu) || 0 }));
}

/** Tap devices a config needs; throws when a bridge is missing on this host. */
export function planTaps(vmid: number, conf: ConfigSection, bridgeMtu: Record<string, number>): TapPlan[] {
  const plans: TapPlan[] = [];
  for (const key of netKeys(conf)) {
    const opts = netOptions(conf[key] as string);
    const bridge = opts.bridge;
    if (!bridge) continue;
    const bridgeMtuValue = bridgeMtu[bridge];
    if (bridgeMtuValue === undefined) {
      throw new CvmError('HOST_UNSUPPORTED', `${key}: bridge '${bridge}' does not exist`, {
        details: { key, bridge, bridges: Object.keys(bridgeMtu) },
      });
    }
    // qemu-server: mtu=1 means "use the bridge MTU"
    const mtu = opts.mtu && opts.mtu !== '1' ? Number(opts.mtu) : bridgeMtuValue;
    plans.push({ key, ifname: `tap${vmid}i${key.slice(3)}`, bridge, mtu, ...(opts.tag ? { tag: Number(opts.tag) } : {}) });
  }
  return plans;
}

export type IpRunner = (args: string[]) => Promise<void>;

const ipCommand: IpRunner = async (args) => {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CvmError('IO', `ip ${args.join(' ')} failed - ${(e.stderr || e.message).trim()}`, { cause: err });
  }
};

/** Create and plug the taps; on failure the ones already created are removed again. */
export async function createTaps(plans: TapPlan[], ip: IpRunner = ipCommand): Promise<void> {
  const done: TapPlan[] = [];
  try {
    for (const p of plans) {
      await ip(['tuntap', 'add', 'dev', p.ifname, 'mode', 'tap']);
      done.push(p);
      await ip(['link', 'set', p.ifname, 'master', p.bridge, 'mtu', String(p.mtu), 'up']);
    }
  } catch (err) {
    await removeTaps(done, ip);
    throw err;
  }
}

/** Delete tap devices; missing ones are fine (QEMU may have closed them already). */
export async function removeTaps(plans: TapPlan[], ip: IpRunner = ipCommand): Promise<void> {
  for (const p of plans) await ip(['link', 'del', p.ifname]).catch(() => undefined);
}
