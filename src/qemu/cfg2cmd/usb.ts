/**
 * @module qemu/cfg2cmd/usb
 * USB controllers and devices (PVE::QemuServer::USB): UHCI/EHCI base controller, the legacy
 * `pve-usb.cfg` readconfig, qemu-xhci (machine ≥ 7.1, l26 or Windows > 7) or nec-usb-xhci,
 * SPICE USB redirection and host passthrough by id, path or mapping; plus the tablet and
 * aarch64 keyboard devices.
 */

import { CvmError } from '../../errors.js';
import type { Cfg2CmdContext } from './context.js';
import { pciAddr } from './pci.js';
import { propBool } from './props.js';
import { windowsVersion } from './version.js';
import { indexedKeys } from './indexed-keys.js';
import { mappingEntryFormat, usbFormat } from '../../config/options/devices.js';
import { readPropertyString } from '../../schema/reader.js';

const OLD_MAX_USB = 5;
export const MAX_USB_DEVICES = 14;
const USB_KEYS = indexedKeys('usb', MAX_USB_DEVICES);
const USB_ID_RE = /^(0x)?([0-9A-Fa-f]{4}):(0x)?([0-9A-Fa-f]{4})$/;
const USB_PATH_RE = /^(\d+)-(\d+(\.\d+)*)$/;

function useQemuXhci(ctx: Cfg2CmdContext): boolean {
  const ostype = ctx.conf.ostype;
  return ctx.minVersion(7, 1) && ostype !== undefined && (ostype === 'l26' || windowsVersion(ostype) > 7);
}

function assertUsable(index: number, xhci: boolean): void {
  if (index >= OLD_MAX_USB && !xhci) {
    throw new CvmError('GENERATE', `using usb${index} is only possible with machine type >= 7.1 and ostype l26 or windows > 7`);
  }
}

/** get_usb_controllers. */
export function usbControllers(ctx: Cfg2CmdContext, devices: string[]): void {
  const xhci = useQemuXhci(ctx);
  if (ctx.arch === 'aarch64') {
    devices.push('-device', `usb-ehci,id=ehci${pciAddr(ctx, 'ehci')}`);
  } else if (!ctx.q35) {
    devices.push('-device', `piix3-usb-uhci,id=uhci${pciAddr(ctx, 'piix3')}.0x2`);
  }
  let usb2 = false;
  let usb3 = false;
  let any = false;
  for (let i = 0; i < MAX_USB_DEVICES; i++) {
    const value = ctx.conf[USB_KEYS[i] as string];
    if (!value) continue;
    assertUsable(i, xhci);
    const d = readPropertyString(usbFormat, value);
    any = true;
    if (propBool(d.usb3)) usb3 = true;
    else usb2 = true;
  }
  if (!xhci && !ctx.q35 && usb2 && ctx.arch !== 'aarch64') {
    devices.push('-readconfig', '/usr/share/qemu-server/pve-usb.cfg');
  }
  const addr = pciAddr(ctx, 'xhci');
  if (xhci && any) devices.push('-device', `qemu-xhci,p2=15,p3=15,id=xhci${addr}`);
  else if (usb3) devices.push('-device', `nec-usb-xhci,id=xhci${addr}`);
}

function parseUsbHost(ctx: Cfg2CmdContext, host: string | undefined, mapping: string | undefined): Record<string, string> {
  if (host && mapping) return {};
  if (host !== undefined) {
    let m = USB_ID_RE.exec(host);
    if (m) return { vendorid: m[2] as string, productid: m[4] as string };
    m = USB_PATH_RE.exec(host);
    if (m) return { hostbus: m[1] as string, hostport: m[2] as string };
    return /^spice$/i.test(host) ? { spice: '1' } : {};
  }
  if (mapping !== undefined) {
    const entries = (ctx.host.usbMappings[mapping]?.map ?? []).map((e) => readPropertyString(mappingEntryFormat, e)).filter((e) => e.node === ctx.host.nodename);
    if (!entries.length) throw new CvmError('GENERATE', `USB device mapping not found for '${mapping}'`);
    if (entries.length > 1) throw new CvmError('GENERATE', 'More than one USB mapping per host not supported');
    const dev = entries[0] as Record<string, string>;
    return parseUsbHost(ctx, dev.path ?? dev.id, undefined);
  }
  return {};
}

/** get_usb_devices. */
export function usbDevices(ctx: Cfg2CmdContext, devices: string[], spiceUsb3: boolean): void {
  const xhci = useQemuXhci(ctx);
  for (let i = 0; i < MAX_USB_DEVICES; i++) {
    const name = USB_KEYS[i] as string;
    const value = ctx.conf[name];
    if (!value) continue;
    assertUsable(i, xhci);
    const d = readPropertyString(usbFormat, value);
    const port = xhci ? i + 1 : undefined;
    const isUsb3 = propBool(d.usb3) === true;
    if (d.host && d.host === 'spice') {
      const bus = (isUsb3 && spiceUsb3) || xhci ? 'xhci' : 'ehci';
      devices.push('-chardev', `spicevmc,id=usbredirchardev${i},name=usbredir`);
      let dev = `usb-redir,chardev=usbredirchardev${i},id=usbredirdev${i},bus=${bus}.0`;
      if (port !== undefined) dev += `,port=${port}`;
      devices.push('-device', dev);
      if (ctx.bootOrder[name]) ctx.perlWarnings.push('warning: spice usb port set as bootdevice, ignoring');
      continue;
    }
    let dev = 'usb-host';
    if (isUsb3 || port !== undefined) {
      dev += ',bus=xhci.0';
      if (port !== undefined) dev += `,port=${port}`;
    }
    const parsed = parseUsbHost(ctx, d.host, d.mapping);
    if (parsed.vendorid !== undefined && parsed.productid !== undefined) {
      dev += `,vendorid=0x${parsed.vendorid},productid=0x${parsed.productid}`;
    } else if (parsed.hostbus !== undefined && parsed.hostport !== undefined) {
      dev += `,hostbus=${parsed.hostbus},hostport=${parsed.hostport}`;
    } else {
      throw new CvmError('GENERATE', 'no usb id or path given');
    }
    dev += `,id=${name}`;
    if (ctx.bootOrder[name]) dev += `,bootindex=${ctx.bootOrder[name]}`;
    devices.push('-device', dev);
  }
}

/** print_tabletdevice_full / print_keyboarddevice_full. */
export function tabletDevices(ctx: Cfg2CmdContext, devices: string[]): void {
  const bus = ctx.q35 || ctx.arch === 'aarch64' ? 'ehci' : 'uhci';
  devices.push('-device', `usb-tablet,id=tablet,bus=${bus}.0,port=1`);
  if (ctx.arch === 'aarch64') devices.push('-device', 'usb-kbd,id=keyboard,bus=ehci.0,port=2');
}
