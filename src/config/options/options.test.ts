import { describe, expect, it } from 'vitest';
import { getFormat, splitFormatName, type FormatSchema, type PropertySchema } from '../../schema/index.js';
import { configKeyNames, lookupConfigKey, qemuServerFormats, validDriveNames, vmConfigKeys } from './index.js';

// The non-indexed keys of qemu-server 9.2.6's $confdesc and $confdesc_cloudinit (read off
// QemuServer.pm by hand; 73 keys).
const BASE_KEYS = [
  'acpi',
  'affinity',
  'agent',
  'allow-ksm',
  'amd-sev',
  'arch',
  'args',
  'audio0',
  'autostart',
  'balloon',
  'bios',
  'boot',
  'bootdisk',
  'cdrom',
  'cicustom',
  'cipassword',
  'citype',
  'ciupgrade',
  'ciuser',
  'cores',
  'cpu',
  'cpulimit',
  'cpuunits',
  'description',
  'freeze',
  'hookscript',
  'hotplug',
  'hugepages',
  'intel-tdx',
  'ivshmem',
  'keephugepages',
  'keyboard',
  'kvm',
  'localtime',
  'lock',
  'machine',
  'memory',
  'meta',
  'migrate_downtime',
  'migrate_speed',
  'name',
  'nameserver',
  'numa',
  'onboot',
  'ostype',
  'parent',
  'protection',
  'reboot',
  'rng0',
  'running-nets-host-mtu',
  'runningcpu',
  'runningmachine',
  'scsihw',
  'searchdomain',
  'shares',
  'smbios1',
  'smp',
  'snaptime',
  'sockets',
  'spice_enhancements',
  'sshkeys',
  'startdate',
  'startup',
  'tablet',
  'tags',
  'tdf',
  'template',
  'vcpus',
  'vga',
  'vmgenid',
  'vmstate',
  'vmstatestorage',
  'watchdog',
];

// Indexed keys: prefix → count (MAX_* constants of qemu-server 9.2.6).
const INDEXED: Record<string, number> = {
  net: 32,
  ipconfig: 32,
  numa: 8,
  virtiofs: 10,
  serial: 4,
  parallel: 3,
  hostpci: 16,
  usb: 14,
  ide: 4,
  sata: 6,
  scsi: 31,
  virtio: 16,
  efidisk: 1,
  tpmstate: 1,
  unused: 256,
};

function expectedKeys(): string[] {
  const keys = [...BASE_KEYS];
  for (const [prefix, count] of Object.entries(INDEXED)) for (let i = 0; i < count; i++) keys.push(`${prefix}${i}`);
  return keys.sort();
}

describe('vmConfigKeys', () => {
  it('has exactly the keys of qemu-server 9.2.6 (507)', () => {
    expect(BASE_KEYS).toHaveLength(73);
    expect(configKeyNames()).toEqual(expectedKeys());
    expect(configKeyNames()).toHaveLength(507);
  });

  it('is a table without a prototype: names of Object.prototype members are no keys', () => {
    expect(Object.getPrototypeOf(vmConfigKeys)).toBeNull();
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(vmConfigKeys[name], name).toBeUndefined();
    expect(Object.isFrozen(vmConfigKeys)).toBe(true);
  });

  it('does not know keys beyond the maximum counts', () => {
    for (const key of [
      'net32',
      'scsi31',
      'ide4',
      'sata6',
      'virtio16',
      'unused256',
      'efidisk1',
      'usb14',
      'hostpci16',
      'numa8',
      'serial4',
      'parallel3',
      'virtiofs10',
      'net01',
      'constructor',
      '__proto__',
    ]) {
      expect(lookupConfigKey(key), key).toBeUndefined();
    }
    expect(lookupConfigKey('net31')?.description).toBe('Specify network devices.');
    expect(lookupConfigKey('scsi30')?.description).toBe('Use volume as SCSI hard disk or CD-ROM (n is 0 to 30).');
  });

  it('marks every top-level key optional', () => {
    for (const [key, schema] of Object.entries(vmConfigKeys)) expect(schema.optional, key).toBe(true);
  });

  it('carries the amd-sev and intel-tdx descriptors of spec §1.1/§1.3', () => {
    expect(lookupConfigKey('amd-sev')).toEqual({
      description: 'Secure Encrypted Virtualization (SEV) features by AMD CPUs',
      optional: true,
      format: 'pve-qemu-sev-fmt',
      type: 'string',
    });
    expect(lookupConfigKey('intel-tdx')).toEqual({
      description: 'Trusted Domain Extension (TDX) features by Intel CPUs',
      optional: true,
      format: 'pve-qemu-tdx-fmt',
      type: 'string',
    });
  });

  it('keeps facts of selected keys', () => {
    expect(lookupConfigKey('cpuunits')).toMatchObject({ minimum: 1, maximum: 262144, default: 'cgroup v1: 1024, cgroup v2: 100' });
    expect(lookupConfigKey('cpulimit')).toMatchObject({ type: 'number', minimum: 0, maximum: 128, default: 0 });
    expect(lookupConfigKey('bios')).toMatchObject({ enum: ['seabios', 'ovmf'], default: 'seabios' });
    expect(lookupConfigKey('hugepages')?.enum).toEqual(['any', '2', '1024']);
    expect(lookupConfigKey('scsihw')?.default).toBe('lsi');
    expect(lookupConfigKey('description')?.maxLength).toBe(8192);
    expect(lookupConfigKey('smbios1')).toMatchObject({ format: 'pve-qm-smbios1', maxLength: 512 });
    expect(lookupConfigKey('cdrom')).toMatchObject({ format: 'pve-qm-ide', typetext: '<volume>' });
    expect(lookupConfigKey('startdate')?.typetext).toBe('(now | YYYY-MM-DD | YYYY-MM-DDTHH:MM:SS)');
    expect(lookupConfigKey('keyboard')?.enum).toHaveLength(25);
    expect(lookupConfigKey('ostype')?.enum).toEqual([
      'other',
      'wxp',
      'w2k',
      'w2k3',
      'w2k8',
      'wvista',
      'win7',
      'win8',
      'win10',
      'win11',
      'l24',
      'l26',
      'solaris',
    ]);
  });
});

function formatRefs(schema: PropertySchema, where: string, out: Array<[string, string]>): void {
  if (typeof schema.format === 'string') out.push([where, schema.format]);
  else if (schema.format) for (const [k, sub] of Object.entries(schema.format)) formatRefs(sub, `${where}.${k}`, out);
}

describe('format references', () => {
  it('every named format used by a key or sub-key resolves in the registry', () => {
    const refs: Array<[string, string]> = [];
    for (const [key, schema] of Object.entries(vmConfigKeys)) formatRefs(schema, key, refs);
    for (const [name, format] of Object.entries(qemuServerFormats)) {
      for (const [k, sub] of Object.entries(format)) formatRefs(sub, `${name}.${k}`, refs);
    }
    const unresolved = refs.filter(([, name]) => getFormat(splitFormatName(name).base) === undefined);
    expect(unresolved).toEqual([]);
    expect(refs.length).toBeGreaterThan(500);
  });

  it('registers every qemu-server format under its name', () => {
    for (const name of [
      'pve-qemu-sev-fmt',
      'pve-qemu-tdx-fmt',
      'pve-qm-ide',
      'pve-qm-drive',
      'pve-qm-net',
      'pve-vm-cpu-conf',
      'pve-cpu-conf',
      'pve-qemu-machine-fmt',
      'pve-qm-smbios1',
      'pve-qm-boot',
      'pve-qm-watchdog',
      'pve-qm-hostpci',
      'pve-qm-usb',
      'pve-qm-rng',
      'pve-qm-numanode',
      'pve-qm-virtiofs',
      'pve-qm-ipconfig',
      'pve-qm-cicustom',
      'pve-hotplug-features',
      'pve-cpuset',
      'pve-qm-bootdisk',
      'pve-qm-bootdev',
      'pve-phys-bits',
      'pve-volume-id-or-qm-path',
    ]) {
      expect(getFormat(name), name).toBeDefined();
    }
    expect(getFormat('pve-qemu-sev-fmt')).toBe(qemuServerFormats['pve-qemu-sev-fmt']);
  });

  it('every format has at most one default key, and alias targets exist', () => {
    for (const [name, format] of Object.entries(qemuServerFormats) as Array<[string, FormatSchema]>) {
      const defaults = Object.entries(format)
        .filter(([, s]) => s.default_key)
        .map(([k]) => k);
      expect(defaults.length, name).toBeLessThanOrEqual(1);
      for (const [key, s] of Object.entries(format)) {
        if (s.alias !== undefined) expect(format[s.alias], `${name}.${key}`).toBeDefined();
        if (s.requires !== undefined) expect(format[s.requires], `${name}.${key}`).toBeDefined();
        if (s.pattern !== undefined) expect(() => new RegExp(s.pattern as string), `${name}.${key}`).not.toThrow();
      }
    }
  });

  it('lists the drive names in qemu-server order', () => {
    expect(validDriveNames).toHaveLength(4 + 31 + 16 + 6 + 2);
    expect(validDriveNames.slice(0, 5)).toEqual(['ide0', 'ide1', 'ide2', 'ide3', 'scsi0']);
    expect(validDriveNames.indexOf('virtio0')).toBe(35);
    expect(validDriveNames.indexOf('sata0')).toBe(51);
    expect(validDriveNames.slice(-2)).toEqual(['efidisk0', 'tpmstate0']);
  });
});
