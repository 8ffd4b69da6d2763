/**
 * @module qemu/cfg2cmd/q35-inline
 * For hosts without qemu-server's `pve-q35*.cfg` files (flavour `local`), the devices those
 * files define, emitted as plain `-device` arguments in the same order: the ICH9 USB
 * controllers, the (legacy) audio0 HDA, four PCIe root ports and the DMI-to-PCI bridge with
 * pci.0–pci.3 behind it. Bus names and addresses match the cfg files, so every later
 * `bus=pci.N`/`ich9-pcie-port-N` reference resolves the same way.
 */

type Dev = [id: string, props: [string, string][]];

function usbDevices(): Dev[] {
  const out: Dev[] = [
    [
      'ehci',
      [
        ['driver', 'ich9-usb-ehci1'],
        ['multifunction', 'on'],
        ['bus', 'pcie.0'],
        ['addr', '1d.7'],
      ],
    ],
  ];
  for (let i = 1; i <= 3; i++) {
    out.push([
      `uhci-${i}`,
      [
        ['driver', `ich9-usb-uhci${i}`],
        ['multifunction', 'on'],
        ['bus', 'pcie.0'],
        ['addr', `1d.${i - 1}`],
        ['masterbus', 'ehci.0'],
        ['firstport', String((i - 1) * 2)],
      ],
    ]);
  }
  out.push([
    'ehci-2',
    [
      ['driver', 'ich9-usb-ehci2'],
      ['multifunction', 'on'],
      ['bus', 'pcie.0'],
      ['addr', '1a.7'],
    ],
  ]);
  for (let i = 4; i <= 6; i++) {
    out.push([
      `uhci-${i}`,
      [
        ['driver', `ich9-usb-uhci${i}`],
        ['multifunction', 'on'],
        ['bus', 'pcie.0'],
        ['addr', `1a.${i - 4}`],
        ['masterbus', 'ehci-2.0'],
        ['firstport', String((i - 4) * 2)],
      ],
    ]);
  }
  return out;
}

function rootPorts(modern: boolean): Dev[] {
  const out: Dev[] = [];
  for (let i = 1; i <= 4; i++) {
    const driver: [string, string][] = modern
      ? [
          ['driver', 'pcie-root-port'],
          ['x-speed', '16'],
          ['x-width', '32'],
        ]
      : [['driver', 'ioh3420']];
    out.push([
      `ich9-pcie-port-${i}`,
      [...driver, ['multifunction', 'on'], ['bus', 'pcie.0'], ['addr', `1c.${i - 1}`], ['port', String(i)], ['chassis', String(i)]],
    ]);
  }
  return out;
}

function bridges(): Dev[] {
  const out: Dev[] = [
    [
      'pcidmi',
      [
        ['driver', 'i82801b11-bridge'],
        ['bus', 'pcie.0'],
        ['addr', '1e.0'],
      ],
    ],
  ];
  for (let i = 0; i <= 3; i++) {
    out.push([
      `pci.${i}`,
      [
        ['driver', 'pci-bridge'],
        ['bus', 'pcidmi'],
        ['addr', `${i + 1}.0`],
        ['chassis_nr', String(i + 1)],
      ],
    ]);
  }
  return out;
}

/** The `-device` arguments equivalent to `-readconfig <dir>/<cfg>` (cfg: pve-q35-4.0.cfg or pve-q35.cfg). */
export function q35InlineDevices(cfg: string): string[] {
  const modern = cfg === 'pve-q35-4.0.cfg';
  const all: Dev[] = [
    ...usbDevices(),
    [
      'audio0',
      [
        ['driver', 'ich9-intel-hda'],
        ['bus', 'pcie.0'],
        ['addr', '1b.0'],
      ],
    ],
    ...rootPorts(modern),
    ...bridges(),
  ];
  const args: string[] = [];
  for (const [id, props] of all) {
    const [[, driver] = ['', ''], ...rest] = props;
    args.push('-device', [driver, `id=${id}`, ...rest.map(([k, v]) => `${k}=${v}`)].join(','));
  }
  return args;
}
