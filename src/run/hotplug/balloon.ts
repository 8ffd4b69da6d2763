/**
 * @module run/hotplug/balloon
 * The balloon target of a running VM, as qemu-server sets it through QMP `balloon` (bytes).
 * At start the configured `balloon` becomes the target and guest statistics are polled every
 * 2 s. While the VM runs, turning the balloon device on or off waits for the next start; a new
 * `balloon` value is sent at once only with `shares: 0` (manual ballooning) — otherwise it is
 * the floor of Proxmox's auto-ballooning (pvestatd), which cvmctl does not run; deleting
 * `balloon` resets the target to the VM's memory.
 */

import { currentMemory } from '../../qemu/cfg2cmd/memory.js';
import type { QmpClient } from './qmp-devices.js';

const MiB = 1024 * 1024;

/** The balloon device exists unless `balloon: 0`. */
export const balloonEnabled = (value: string | undefined): boolean => value === undefined || Number(value) !== 0;

/** vm_start: `balloon` target from the config, stats polling on (a failure to poll is only a warning). */
export async function balloonAtStart(
  qmp: QmpClient,
  conf: Record<string, string>,
  warn: (m: string) => void,
  opts: { setTarget: boolean },
): Promise<void> {
  if (opts.setTarget && conf.balloon && Number(conf.balloon)) await qmp.execute('balloon', { value: Number(conf.balloon) * MiB });
  if (!balloonEnabled(conf.balloon)) return;
  try {
    await qmp.execute('qom-set', { path: 'machine/peripheral/balloon0', property: 'guest-stats-polling-interval', value: 2 });
  } catch (err) {
    warn(`could not set polling interval for ballooning - ${(err as Error).message}`);
  }
}

/** Deleting `balloon`: false (stays pending) when the device is off, else the target goes back to `memory`. */
export async function balloonReset(qmp: QmpClient, conf: Record<string, string>): Promise<boolean> {
  if (conf.balloon !== undefined && Number(conf.balloon) === 0) return false;
  await qmp.execute('balloon', { value: currentMemory(conf.memory) * MiB });
  return true;
}

/** A new `balloon` value: false (stays pending) when it switches the device on or off. */
export async function balloonChange(qmp: QmpClient, conf: Record<string, string>, value: string): Promise<boolean> {
  if (balloonEnabled(conf.balloon) !== balloonEnabled(value)) return false;
  // manual ballooning only with shares=0; otherwise the value is auto-ballooning's floor
  if (conf.shares !== undefined && Number(conf.shares) === 0) {
    await qmp.execute('balloon', { value: (Number(value) || currentMemory(conf.memory)) * MiB });
  }
  return true;
}
