/**
 * @module run/hotplug/usb
 * USB and tablet hotplug as qemu-server does it. `usbN` changes live only where the VM uses
 * the qemu-xhci controller (machine version ≥ 7.1 with ostype l26 or Windows > 7, and `usb`
 * in `hotplug`), which is exactly when the generator emits `qemu-xhci` for the new config.
 * qemu_usb_hotplug: unplug the old device, add the xhci controller if the VM has none, then
 * `device_add` the device (`usb-host` by id or path, or for `spice` a `spicevmc` chardev and
 * `usb-redir`) on port N+1, without a boot index. Unplugging is `device_del` plus the 5 s
 * verify; the controller goes once no `usbN` is left. The tablet (`tablet`, `usb` hotplug)
 * is plugged and unplugged without a verify. Device strings come from the generator's argv.
 */

import { CvmError } from '../../errors.js';
import { deviceArg } from './argv-parts.js';
import type { PlugEnv } from './plug.js';
import { ensurePciBridge } from './plug.js';
import { deviceAdd, deviceDel, deviceDelVerify, devicesList } from './qmp-devices.js';

const fail = (message: string): never => {
  throw new CvmError('QMP_ERROR', message);
};

/** is_usb_hotplug_supported: the generated command line (with the USB device) uses qemu-xhci. */
export function usesQemuXhci(argv: readonly string[]): boolean {
  return argv.some((a, i) => argv[i - 1] === '-device' && /^qemu-xhci,/.test(a) && a.split(',').includes('id=xhci'));
}

/** The qdev id of `usbN` with `value`: `usbredirdevN` for a SPICE port, `usbN` otherwise. */
export function usbDeviceId(key: string, value: string | undefined): string {
  const index = key.slice(3);
  return value !== undefined && /^(?:host=)?spice(?:,|$)/i.test(value) ? `usbredirdev${index}` : key;
}

/** vm_deviceunplug for tablet/keyboard/xhci: device_del, not verified. */
export async function unplugUnverified(env: PlugEnv, id: string): Promise<void> {
  if (!(await devicesList(env.qmp)).has(id)) return;
  await deviceDel(env.qmp, id);
}

/** vm_deviceunplug for usbN / usbredirdevN: device_del and the 5 s verify. */
export async function unplugUsb(env: PlugEnv, id: string): Promise<void> {
  if (!(await devicesList(env.qmp)).has(id)) return;
  await deviceDel(env.qmp, id);
  await deviceDelVerify(env.qmp, id, 5, env.pollMs);
}

/** The `-device` string of a USB device as vm_deviceplug prints it: no boot index. */
function usbDeviceString(argv: readonly string[], id: string): string {
  const device = deviceArg(argv, id) ?? fail(`can't hotplug device '${id}'`);
  return device.replace(/,bootindex=\d+/, '');
}

/** qemu_spice_usbredir_chardev_add (a chardev left from an earlier plug of that port is reused). */
async function spiceChardevAdd(env: PlugEnv, index: string): Promise<void> {
  const id = `usbredirchardev${index}`;
  const existing = await env.qmp.execute<{ label: string }[]>('query-chardev');
  if (existing.some((c) => c.label === id)) return;
  await env.qmp.execute('chardev-add', { id, backend: { type: 'spicevmc', data: { type: 'usbredir' } } });
}

/**
 * qemu_usb_hotplug of `key` (usbN) with its new value; `argv` is the command line of the
 * config with that value. The old device (host or SPICE) is unplugged first.
 */
export async function plugUsb(env: PlugEnv, argv: readonly string[], key: string, value: string): Promise<void> {
  const index = key.slice(3);
  const id = usbDeviceId(key, value);
  await unplugUsb(env, `usbredirdev${index}`);
  await unplugUsb(env, key);
  let addedXhci = false;
  if (!(await devicesList(env.qmp)).has('xhci')) {
    const xhci = deviceArg(argv, 'xhci') ?? fail("can't hotplug device 'xhci'");
    await ensurePciBridge(env, argv, xhci);
    await deviceAdd(env.qmp, xhci);
    addedXhci = true;
  }
  try {
    if (id.startsWith('usbredirdev')) await spiceChardevAdd(env, index);
    await deviceAdd(env.qmp, usbDeviceString(argv, id));
  } catch (err) {
    if (addedXhci) await unplugUnverified(env, 'xhci').catch(() => undefined);
    throw err;
  }
}

/** After USB deletions: the xhci controller goes when the config has no usbN left. */
export async function unplugXhciIfUnused(env: PlugEnv, conf: Record<string, string>): Promise<void> {
  if (Object.keys(conf).some((k) => /^usb\d+$/.test(k) && conf[k])) return;
  await unplugUnverified(env, 'xhci');
}

/** The tablet (vm_deviceplug 'tablet'): the device a start with `tablet: 1` would get. */
export async function plugTablet(env: PlugEnv, argv: readonly string[]): Promise<void> {
  if ((await devicesList(env.qmp)).has('tablet')) return;
  await deviceAdd(env.qmp, deviceArg(argv, 'tablet') ?? fail("can't hotplug device 'tablet'"));
}
