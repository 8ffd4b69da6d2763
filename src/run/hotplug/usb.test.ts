import { describe, expect, it } from 'vitest';
import { plugTablet, plugUsb, unplugUsb, unplugXhciIfUnused, usbDeviceId, usesQemuXhci } from './usb.js';

/**
 * A monitor that keeps a device set the way QEMU shows it (query-pci for the controller,
 * qom-list /machine/peripheral for USB devices) and records every command. `stuck` ids
 * ignore device_del, like a device the guest does not release.
 */
function fakeMonitor(initial: string[] = [], stuck: string[] = []) {
  const devices = new Set(initial);
  const chardevs = new Set<string>();
  const log: string[] = [];
  const qmp = {
    async execute<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
      const answer = (): unknown => {
        switch (command) {
          case 'query-pci':
            return [{ devices: [...devices].filter((d) => !/^(usb|tablet)/.test(d)).map((qdev_id) => ({ qdev_id })) }];
          case 'query-block':
          case 'query-mice':
            return command === 'query-mice' && devices.has('tablet') ? [{ name: 'QEMU HID Tablet' }] : [];
          case 'qom-list':
            return [...devices].map((name) => ({ name, type: 'child<x>' }));
          case 'query-chardev':
            return [...chardevs].map((label) => ({ label }));
          case 'chardev-add':
            log.push(`chardev-add ${JSON.stringify(args)}`);
            chardevs.add(args.id as string);
            return {};
          case 'human-monitor-command': {
            const line = args['command-line'] as string;
            log.push(line);
            const add = /^device_add driver=.*(?:^|,)id=([^,]+)/.exec(line);
            if (add) devices.add(add[1] as string);
            const del = /^device_del (\S+)$/.exec(line);
            if (del && !stuck.includes(del[1] as string)) devices.delete(del[1] as string);
            return '';
          }
          default:
            throw new Error(`unexpected ${command}`);
        }
      };
      return answer() as T;
    },
  };
  return { qmp, devices, log, env: { qmp, vmid: 100, pollMs: 1 } };
}

const ARGV = [
  '-device',
  'pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e',
  '-device',
  'qemu-xhci,p2=15,p3=15,id=xhci,bus=pci.1,addr=0x1b',
  '-device',
  'usb-tablet,id=tablet,bus=uhci.0,port=1',
  '-device',
  'usb-host,bus=xhci.0,port=1,vendorid=0x1234,productid=0x5678,id=usb0,bootindex=101',
  '-chardev',
  'spicevmc,id=usbredirchardev2,name=usbredir',
  '-device',
  'usb-redir,chardev=usbredirchardev2,id=usbredirdev2,bus=xhci.0,port=3',
];

describe('USB hotplug (qemu_usb_hotplug / vm_deviceunplug)', () => {
  it('knows SPICE ports by their usbredirdev id and qemu-xhci VMs by their command line', () => {
    expect(usbDeviceId('usb2', 'spice')).toBe('usbredirdev2');
    expect(usbDeviceId('usb2', 'host=SPICE,usb3=1')).toBe('usbredirdev2');
    expect(usbDeviceId('usb2', '1234:5678')).toBe('usb2');
    expect(usesQemuXhci(ARGV)).toBe(true);
    expect(usesQemuXhci(['-device', 'nec-usb-xhci,id=xhci,bus=pci.1,addr=0x1b'])).toBe(false);
    expect(usesQemuXhci(['-readconfig', 'qemu-xhci,id=xhci'])).toBe(false);
  });

  it('adds the controller first, then the host device without its boot index', async () => {
    const m = fakeMonitor(['pci.1']);
    await plugUsb(m.env, ARGV, 'usb0', '1234:5678');
    expect(m.log).toEqual([
      'device_add driver=qemu-xhci,p2=15,p3=15,id=xhci,bus=pci.1,addr=0x1b',
      'device_add driver=usb-host,bus=xhci.0,port=1,vendorid=0x1234,productid=0x5678,id=usb0',
    ]);
  });

  it('plugs a SPICE port as chardev-add + usb-redir, after unplugging the old device of that port', async () => {
    const m = fakeMonitor(['xhci', 'usb2']);
    await plugUsb(m.env, ARGV, 'usb2', 'spice');
    expect(m.log).toEqual([
      'device_del usb2',
      'chardev-add {"id":"usbredirchardev2","backend":{"type":"spicevmc","data":{"type":"usbredir"}}}',
      'device_add driver=usb-redir,chardev=usbredirchardev2,id=usbredirdev2,bus=xhci.0,port=3',
    ]);
    // plugged again later: the chardev of the port is still there and is reused
    await unplugUsb(m.env, 'usbredirdev2');
    m.log.length = 0;
    await plugUsb(m.env, ARGV, 'usb2', 'spice');
    expect(m.log).toEqual(['device_add driver=usb-redir,chardev=usbredirchardev2,id=usbredirdev2,bus=xhci.0,port=3']);
  });

  it('removes the controller it added when the device cannot be added', async () => {
    const m = fakeMonitor(['pci.1']);
    await expect(plugUsb(m.env, ARGV, 'usb5', '1234:5678')).rejects.toThrow("can't hotplug device 'usb5'");
    expect(m.log).toEqual(['device_add driver=qemu-xhci,p2=15,p3=15,id=xhci,bus=pci.1,addr=0x1b', 'device_del xhci']);
  });

  it('verifies an unplug like qemu_devicedelverify', async () => {
    const m = fakeMonitor(['xhci', 'usb0'], ['usb0']);
    await expect(unplugUsb(m.env, 'usb0')).rejects.toThrow("error on hot-unplugging device 'usb0' - still busy in guest?");
    expect(m.log).toEqual(['device_del usb0']);
  });

  it('unplugs the controller only once no usbN is configured', async () => {
    const m = fakeMonitor(['xhci']);
    await unplugXhciIfUnused(m.env, { usb3: 'spice' });
    expect(m.log).toEqual([]);
    await unplugXhciIfUnused(m.env, { memory: '512' });
    expect(m.log).toEqual(['device_del xhci']);
  });

  it('plugs the tablet a start would create, once', async () => {
    const m = fakeMonitor();
    await plugTablet(m.env, ARGV);
    await plugTablet(m.env, ARGV);
    expect(m.log).toEqual(['device_add driver=usb-tablet,id=tablet,bus=uhci.0,port=1']);
  });
});
