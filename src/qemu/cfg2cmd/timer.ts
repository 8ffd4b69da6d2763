/**
 * @module qemu/cfg2cmd/timer
 * qemu-server's Cfg2Cmd::Timer: the `kvm-pit.lost_tick_policy` global and `hpet=off` for
 * Windows ≥ 6 (and Linux with machine ≥ 10.1), the RTC drift fix and the RTC base (start
 * date, or local time for Windows). Returns the three lists Cfg2Cmd->generate() produces.
 */

import type { Cfg2CmdContext } from './context.js';
import { perlTrue } from './props.js';
import { machineBaseType } from './version.js';

export interface TimerFlags {
  globals: string[];
  machineFlags: string[];
  rtcFlags: string[];
}

/** `machineType` is get_vm_machine's result (may still carry `.pxe`). */
export function timerFlags(ctx: Cfg2CmdContext, machineType: string): TimerFlags {
  const conf = ctx.conf;
  const out: TimerFlags = { globals: [], machineFlags: [], rtcFlags: [] };
  let tdf: boolean | undefined = conf.tdf === undefined ? undefined : perlTrue(conf.tdf);
  const acpi = conf.acpi === undefined ? true : perlTrue(conf.acpi);
  let localtime: boolean | undefined = conf.localtime === undefined ? undefined : perlTrue(conf.localtime);
  const startdate = conf.startdate ?? 'now';
  const ostype = conf.ostype ?? 'other';
  const hpetSupported = machineBaseType(machineType) !== 'virt';

  if (ctx.winVersion >= 5) {
    if (localtime === undefined) localtime = true;
    if (acpi && tdf === undefined) tdf = true;
  }
  if (ctx.winVersion >= 6) {
    out.globals.push('kvm-pit.lost_tick_policy=discard');
    if (hpetSupported) out.machineFlags.push('hpet=off');
  } else if (ostype === 'l26' && ctx.versionGuard(10, 1, 0)) {
    if (hpetSupported) out.machineFlags.push('hpet=off');
  }
  if (tdf) out.rtcFlags.push('driftfix=slew');
  if (startdate !== 'now') out.rtcFlags.push(`base=${startdate}`);
  else if (localtime) out.rtcFlags.push('base=localtime');
  return out;
}
