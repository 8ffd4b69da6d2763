/**
 * @module qemu/cfg2cmd/config-section
 * What config_to_command generates for before it starts: the main section or a snapshot
 * (with the snapshot's `runningmachine`/`runningcpu`/`running-nets-host-mtu` overrides), the
 * minimal config qemu-server substitutes for templates, and the parsed `hotplug` list.
 */

import type { ConfigSection, VmConfig } from '../../config/types.js';
import { CvmError } from '../../errors.js';
import { splitList } from '../../schema/perl.js';
import { validDriveNames } from './drive-names.js';

/** Generation overrides (`qm showcmd` options and snapshot state). */
export interface ConfigToCommandOptions {
  /** Generate for this snapshot's config (`qm showcmd --snapshot`). */
  snapshot?: string;
  /** Machine type to use instead of the configured one (snapshot `runningmachine`). */
  forceMachine?: string;
  /** CPU string to use instead of the computed one (snapshot `runningcpu`). */
  forceCpu?: string;
  /** `net0=1500,…`: NIC MTUs a migration source ran with (snapshot `running-nets-host-mtu`). */
  netsHostMtu?: string;
}

const die = (msg: string): never => {
  throw new CvmError('GENERATE', msg);
};

const HOTPLUG_DEFAULT = 'network,disk,usb';

/** The `hotplug` option: `1` means network,disk,usb; `0` none; otherwise the listed features. */
export function parseHotplug(value: string): Set<string> {
  const res = new Set<string>();
  if (value === '0') return res;
  const list = value === '1' ? HOTPLUG_DEFAULT : value;
  for (const feature of splitList(list)) {
    if (!/^(network|disk|cpu|memory|usb|cloudinit)$/.test(feature)) die(`invalid hotplug feature '${feature}'`);
    res.add(feature);
  }
  return res;
}

/** The minimal config qemu-server starts templates with (for backups only). */
export function templateConfig(conf: ConfigSection): ConfigSection {
  const out: ConfigSection = { template: '1', kvm: '0', vga: 'none' };
  for (const key of ['scsihw', 'bios', 'name'] as const) if (conf[key] !== undefined) out[key] = conf[key];
  for (const name of validDriveNames()) if (conf[name] !== undefined) out[name] = conf[name];
  return out;
}

/** Select the section to generate for: the main config or a snapshot, and its overrides. */
export function selectSection(config: VmConfig, opts: ConfigToCommandOptions): { conf: ConfigSection; force: ConfigToCommandOptions } {
  if (!opts.snapshot) return { conf: config.conf, force: opts };
  const snap = config.snapshots[opts.snapshot];
  if (!snap) die(`snapshot '${opts.snapshot}' does not exist`);
  const s = snap as ConfigSection;
  return {
    conf: s,
    force: {
      ...opts,
      forceMachine: opts.forceMachine ?? s.runningmachine,
      forceCpu: opts.forceCpu ?? s.runningcpu,
      netsHostMtu: opts.netsHostMtu ?? s['running-nets-host-mtu'],
    },
  };
}
