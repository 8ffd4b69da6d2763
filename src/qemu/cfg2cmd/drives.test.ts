import { describe, expect, it } from 'vitest';
import { shellQuote } from '../args.js';
import { canonicalJson } from './blockdev-json.js';
import { deviceBootorder } from './bootorder.js';
import { checkDriveVolumes, efidiskBlockdev, emitDrives, legacyEfidiskDrive, parseDriveValue } from './drives.js';
import { configDriveNames, validDriveNames } from './drive-names.js';
import { printDriveCommandline } from './drives-legacy.js';
import { mustDrive, type TestCtxOptions, testContext } from './drives-test-env.js';

/** Runs the drive loop and renders `-opt 'value'` lines like the .cmd files. */
function drives(conf: Record<string, string>, opts: TestCtxOptions = {}) {
  const ctx = testContext(conf, opts);
  ctx.bootOrder = deviceBootorder(conf);
  const cmd: string[] = [];
  const devices: string[] = [];
  emitDrives(ctx, devices, cmd);
  const render = (args: string[]) => {
    const out: string[] = [];
    for (let i = 0; i < args.length; i += 2) out.push(`${args[i]} ${shellQuote(args[i + 1] as string)}`);
    return out;
  };
  return { cmd: render(cmd), devices: render(devices), ctx };
}

describe('emitDrives, blockdev mode (machine ≥ 10.0)', () => {
  it('emits an empty CD-ROM, the SCSI controller, a qcow2 chain and scsi-hd (simple1)', () => {
    const { cmd, devices } = drives({
      bootdisk: 'scsi0',
      ide2: 'none,media=cdrom',
      scsi0: 'local:8006/vm-8006-disk-0.qcow2,discard=on,size=104858K',
      scsihw: 'virtio-scsi-pci',
    });
    expect(cmd).toEqual([`-object '{"id":"throttle-drive-scsi0","limits":{},"qom-type":"throttle-group"}'`]);
    expect(devices).toEqual([
      `-device 'ide-cd,bus=ide.1,unit=0,id=ide2,bootindex=200'`,
      `-device 'virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5'`,
      `-blockdev '{"detect-zeroes":"unmap","discard":"unmap","driver":"throttle","file":{"cache":{"direct":true,"no-flush":false},"detect-zeroes":"unmap","discard":"unmap","driver":"qcow2","file":{"aio":"io_uring","cache":{"direct":true,"no-flush":false},"detect-zeroes":"unmap","discard":"unmap","driver":"file","filename":"/var/lib/vz/images/8006/vm-8006-disk-0.qcow2","node-name":"ecd04be4259153b8293415fefa2a84c","read-only":false},"node-name":"fcd04be4259153b8293415fefa2a84c","read-only":false},"node-name":"drive-scsi0","read-only":false,"throttle-group":"throttle-drive-scsi0"}'`,
      `-device 'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,device_id=drive-scsi0,bootindex=100,write-cache=on'`,
    ]);
  });

  it('uses krbd host devices with threads aio for writeback (simple-rbd scsi5)', () => {
    const { devices } = drives({
      scsi5: 'krbd-store:vm-8006-disk-0,cache=writeback,discard=on,size=104858K',
      scsihw: 'virtio-scsi-pci',
    });
    expect(devices[1]).toBe(
      `-blockdev '{"detect-zeroes":"unmap","discard":"unmap","driver":"throttle","file":{"cache":{"direct":false,"no-flush":false},"detect-zeroes":"unmap","discard":"unmap","driver":"raw","file":{"aio":"threads","cache":{"direct":false,"no-flush":false},"detect-zeroes":"unmap","discard":"unmap","driver":"host_device","filename":"/dev/rbd-pve/fc4181a6-56eb-4f68-b452-8ba1f381ca2a/cpool/vm-8006-disk-0","node-name":"e5258ec75558b1f102af1e20e677fd0","read-only":false},"node-name":"f5258ec75558b1f102af1e20e677fd0","read-only":false},"node-name":"drive-scsi5","read-only":false,"throttle-group":"throttle-drive-scsi5"}'`,
    );
    expect(devices[2]).toBe(
      `-device 'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=5,drive=drive-scsi5,id=scsi5,device_id=drive-scsi5,write-cache=on'`,
    );
  });

  it('builds snapshot-as-volume-chain backing chains (simple-backingchain scsi1 on lvm)', () => {
    const { devices } = drives({
      scsi1: 'lvm-store:vm-8006-disk-0.qcow2,size=1G',
    });
    expect(devices).toContain(
      `-blockdev '{"detect-zeroes":"on","discard":"ignore","driver":"throttle","file":{"backing":{"backing":{"cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"qcow2","file":{"aio":"native","cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"host_device","filename":"/dev/veegee/snap1-vm-8006-disk-0.qcow2","node-name":"e25f58d3e6e11f2065ad41253988915","read-only":false},"node-name":"f25f58d3e6e11f2065ad41253988915","read-only":false},"cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"qcow2","file":{"aio":"native","cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"host_device","filename":"/dev/veegee/snap2-vm-8006-disk-0.qcow2","node-name":"e9415bb5e484c1e25d25063b01686fe","read-only":false},"node-name":"f9415bb5e484c1e25d25063b01686fe","read-only":false},"cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"qcow2","file":{"aio":"native","cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"host_device","filename":"/dev/veegee/vm-8006-disk-0.qcow2","node-name":"e87358a470ca311f94d5cc61d1eb428","read-only":false},"node-name":"f87358a470ca311f94d5cc61d1eb428","read-only":false},"node-name":"drive-scsi1","read-only":false,"throttle-group":"throttle-drive-scsi1"}'`,
    );
    expect(devices).toContain(`-device 'lsi,id=scsihw0,bus=pci.0,addr=0x5'`);
  });

  it('puts the format node on top for scsi-block and uses host_device for /dev paths (scsiblk)', () => {
    const { devices } = drives({
      boot: 'order=scsi0',
      scsi0: '/dev/sdg,scsiblock=1,size=32G',
    });
    expect(devices[1]).toBe(
      `-blockdev '{"cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"raw","file":{"aio":"io_uring","cache":{"direct":true,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"host_device","filename":"/dev/sdg","node-name":"e8c91179e47ae3eb292a03618be5cf4","read-only":false},"node-name":"drive-scsi0","read-only":false}'`,
    );
    expect(devices[2]).toBe(
      `-device 'scsi-hd,bus=scsihw0.0,scsi-id=0,drive=drive-scsi0,id=scsi0,device_id=drive-scsi0,bootindex=100,write-cache=on'`,
    );
  });

  it('passes the host CD-ROM as host_cdrom (simple-disk-passthrough)', () => {
    const { devices } = drives({ ide2: 'cdrom,media=cdrom' });
    expect(devices[0]).toBe(
      `-blockdev '{"driver":"throttle","file":{"cache":{"direct":false,"no-flush":false},"driver":"raw","file":{"aio":"io_uring","cache":{"direct":false,"no-flush":false},"driver":"host_cdrom","filename":"/dev/cdrom","node-name":"ee50e59431a6228dc388fc821b35696","read-only":true},"node-name":"fe50e59431a6228dc388fc821b35696","read-only":true},"node-name":"drive-ide2","read-only":true,"throttle-group":"throttle-drive-ide2"}'`,
    );
  });

  it('adds iothread objects and virtio-blk devices (simple-virtio-blk)', () => {
    const { cmd, devices } = drives({
      bootdisk: 'virtio0',
      virtio0: 'local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=104858K',
    });
    expect(cmd[0]).toBe(`-object 'iothread,id=iothread-virtio0'`);
    expect(devices[1]).toBe(
      `-device 'virtio-blk-pci,drive=drive-virtio0,id=virtio0,bus=pci.0,addr=0xa,iothread=iothread-virtio0,bootindex=100,write-cache=on'`,
    );
  });

  it('gives one controller per disk with virtio-scsi-single and bus pci.3', () => {
    const { devices, ctx } = drives({
      scsi9: 'lvm-store:vm-8006-disk-3,cache=directsync,discard=on',
      scsihw: 'virtio-scsi-single',
    });
    expect(devices[0]).toBe(`-device 'virtio-scsi-pci,id=virtioscsi9,bus=pci.3,addr=0xa'`);
    expect(devices[2]).toBe(
      `-device 'scsi-hd,bus=virtioscsi9.0,channel=0,scsi-id=0,lun=9,drive=drive-scsi9,id=scsi9,device_id=drive-scsi9,write-cache=off'`,
    );
    expect(ctx.pciBridges.has(3)).toBe(true);
  });

  it('spreads lsi disks over controllers of 7 and needs pci.4 for the third (scsihw-lsi)', () => {
    const { devices } = drives({
      scsi9: 'lvm-store:vm-8006-disk-3',
      scsi16: 'lvm-store:vm-8006-disk-4',
      scsihw: 'lsi',
    });
    expect(devices).toContain(`-device 'lsi,id=scsihw1,bus=pci.0,addr=0x6'`);
    expect(devices).toContain(`-device 'lsi,id=scsihw2,bus=pci.4,addr=0x1'`);
    expect(devices).toContain(
      `-device 'scsi-hd,bus=scsihw2.0,scsi-id=2,drive=drive-scsi16,id=scsi16,device_id=drive-scsi16,write-cache=on'`,
    );
  });

  it('makes template disks read-only and SATA ide-cd (simple1-template)', () => {
    const { devices } = drives(
      {
        template: '1',
        sata0: 'local:8006/base-8006-disk-0.qcow2,discard=on,size=104858K',
      },
      { isTemplate: true },
    );
    expect(devices[0]).toBe(`-device 'ahci,id=ahci0,multifunction=on,bus=pci.0,addr=0x7'`);
    expect(devices[1]).toContain(
      '"filename":"/var/lib/vz/images/8006/base-8006-disk-0.qcow2","node-name":"eab334c2e07734480f33dd80d89871b","read-only":true',
    );
    expect(devices[2]).toBe(`-device 'ide-cd,bus=ahci0.0,drive=drive-sata0,id=sata0,write-cache=on'`);
  });

  it('maps odd IDE indexes to their own bus on q35 (q35-ide)', () => {
    const conf = {
      ide1: 'cifs-store:iso/one.iso,media=cdrom',
      ide3: 'cifs-store:iso/three.iso,media=cdrom',
    };
    const { devices } = drives(conf, { q35: true });
    expect(devices[1]).toBe(`-device 'ide-cd,bus=ide.2,unit=0,drive=drive-ide1,id=ide1,bootindex=200'`);
    expect(devices[3]).toBe(`-device 'ide-cd,bus=ide.3,unit=0,drive=drive-ide3,id=ide3,bootindex=201'`);
    expect(devices[0]).toContain('"aio":"threads"');
  });

  it('requires media for ISO volumes', () => {
    expect(() => drives({ ide3: 'cifs-store:iso/three.iso' })).toThrow('ide3: explicit media parameter is required for iso images');
  });

  it('needs 4.1+pve2 for more than 14 SCSI disks', () => {
    expect(() => drives({ scsi14: 'local:8006/vm-8006-disk-0.raw' }, { machineVersion: '4.1' })).toThrow(
      'scsi14: machine version 4.1~pve2 or higher is required to use more than 14 SCSI disks',
    );
  });
});

describe('legacy -drive strings (machine < 10.0)', () => {
  it('prints the pinned-version drives', () => {
    const { devices } = drives(
      {
        bootdisk: 'scsi0',
        ide2: 'none,media=cdrom',
        scsi0: 'local:8006/vm-8006-disk-0.raw,discard=on,size=104858K',
        scsihw: 'virtio-scsi-pci',
      },
      { machineVersion: '3.1', q35: true },
    );
    expect(devices).toEqual([
      `-drive 'if=none,id=drive-ide2,media=cdrom,aio=io_uring'`,
      `-device 'ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2,bootindex=200'`,
      `-device 'virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5'`,
      `-drive 'file=/var/lib/vz/images/8006/vm-8006-disk-0.raw,if=none,id=drive-scsi0,discard=on,format=raw,cache=none,aio=io_uring,detect-zeroes=unmap'`,
      `-device 'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,bootindex=100'`,
    ]);
  });

  it('refuses volume chains and prints throttling and readonly', () => {
    const ctx = testContext({}, { machineVersion: '9.2' });
    const chain = mustDrive('scsi0', 'localsnapext:8006/vm-8006-disk-0.qcow2');
    expect(() => printDriveCommandline(ctx, chain)).toThrow(
      /configured for snapshots as a volume chain - this requires QEMU machine version >= 10.0/,
    );
    const limited = mustDrive('virtio0', 'lvm-store:vm-8006-disk-0,mbps=10,iops_rd=100,ro=1,cache=writeback');
    expect(printDriveCommandline(ctx, limited)).toBe(
      'file=/dev/veegee/vm-8006-disk-0,if=none,id=drive-virtio0,cache=writeback,readonly=on,throttling.bps-total=10485760,throttling.iops-read=100,format=raw,aio=threads,detect-zeroes=on',
    );
  });
});

describe('efidisk helpers for the OVMF emitter', () => {
  it('builds the raw efidisk chain with size and writeback (efi-raw)', () => {
    const ctx = testContext({});
    const { throttleGroup, blockdev } = efidiskBlockdev(ctx, parseDriveValue('efidisk0', 'local:100/vm-100-disk-0.raw'), {
      varsSize: 131072,
      tempPath: '/run/qemu-server/efidisk/8006-ovmf.fd',
    });
    expect(canonicalJson(throttleGroup)).toBe('{"id":"throttle-drive-efidisk0","limits":{},"qom-type":"throttle-group"}');
    expect(canonicalJson(blockdev)).toBe(
      '{"detect-zeroes":"on","discard":"ignore","driver":"throttle","file":{"cache":{"direct":false,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"raw","file":{"aio":"io_uring","cache":{"direct":false,"no-flush":false},"detect-zeroes":"on","discard":"ignore","driver":"file","filename":"/var/lib/vz/images/100/vm-100-disk-0.raw","node-name":"e1175f2a490414e7c53337589fde17a","read-only":false},"node-name":"f1175f2a490414e7c53337589fde17a","read-only":false,"size":131072},"node-name":"drive-efidisk0","read-only":false,"throttle-group":"throttle-drive-efidisk0"}',
    );
  });

  it('uses the temporary vars file without an efidisk and marks templates read-only', () => {
    const ctx = testContext({});
    const temp = efidiskBlockdev(ctx, undefined, {
      varsSize: 131072,
      tempPath: '/run/qemu-server/efidisk/8006-ovmf.fd',
    });
    expect(canonicalJson(temp.blockdev)).toContain(
      '"filename":"/run/qemu-server/efidisk/8006-ovmf.fd","node-name":"e5ecb54a3863bf2f22d662c53f49ac4"',
    );
    const tpl = efidiskBlockdev(ctx, parseDriveValue('efidisk0', 'local:100/base-100-disk-0.raw'), {
      varsSize: 131072,
      readOnly: true,
      tempPath: '',
    });
    expect(canonicalJson(tpl.blockdev)).toContain('"node-name":"f2ab65c8ec567acbeb645244f6c4982","read-only":true,"size":131072}');
  });

  it('keeps rbd efidisks on writeback without size for qcow2, and requires a format for paths', () => {
    const ctx = testContext({});
    const rbd = efidiskBlockdev(ctx, parseDriveValue('efidisk0', 'rbd-store:vm-100-disk-1,size=128K'), {
      varsSize: 131072,
      tempPath: '',
    });
    expect(canonicalJson(rbd.blockdev)).toContain('"auth-client-required":["none"],"cache":{"direct":false,"no-flush":false}');
    expect(canonicalJson(rbd.blockdev)).toContain('"node-name":"feb8f022b5551ad1d795611f112c767","read-only":false,"size":131072');
    expect(() =>
      efidiskBlockdev(ctx, parseDriveValue('efidisk0', '/dev/foo'), {
        varsSize: 1,
        tempPath: '',
      }),
    ).toThrow('efidisk format must be specified');
  });

  it('prints the legacy pflash efidisk drive (efi-raw-old, q35-simple-6.0)', () => {
    const ctx = testContext({}, { machineVersion: '4.1' });
    const guardFalse = () => false;
    expect(
      legacyEfidiskDrive(ctx, parseDriveValue('efidisk0', 'local:100/vm-100-disk-0.raw'), {
        varsSize: 131072,
        sizeGuard: guardFalse,
        tempPath: '',
      }),
    ).toBe('if=pflash,unit=1,id=drive-efidisk0,format=raw,file=/var/lib/vz/images/100/vm-100-disk-0.raw');
    expect(
      legacyEfidiskDrive(ctx, parseDriveValue('efidisk0', 'local:100/vm-100-disk-1.qcow2,size=128K'), {
        varsSize: 131072,
        sizeGuard: () => true,
        tempPath: '',
      }),
    ).toBe('if=pflash,unit=1,id=drive-efidisk0,format=qcow2,file=/var/lib/vz/images/100/vm-100-disk-1.qcow2');
    expect(
      legacyEfidiskDrive(ctx, parseDriveValue('efidisk0', 'rbd-store:vm-100-disk-1'), {
        varsSize: 131072,
        sizeGuard: () => true,
        readOnly: true,
        tempPath: '',
      }),
    ).toBe(
      'if=pflash,unit=1,id=drive-efidisk0,cache=writeback,format=raw,file=rbd:cpool/vm-100-disk-1:mon_host=127.0.0.42;127.0.0.21;[\\:\\:1]:auth_supported=none:rbd_cache_policy=writeback,size=131072,readonly=on',
    );
  });
});

describe('parseDriveValue', () => {
  it('reads interface/index, the volume alias, boolean words and legacy bps like parse_drive', () => {
    expect(parseDriveValue('virtio3', 'volume=local:8006/vm-8006-disk-0.raw,iothread=on,ssd=no,bps_rd=1048576')).toEqual({
      interface: 'virtio',
      index: 3,
      file: 'local:8006/vm-8006-disk-0.raw',
      iothread: '1',
      ssd: '0',
      // Drive.pm parse_drive: `my $bps = defined(delete $res->{$opt})` → sprintf('%.3f', 1 / 1 MiB)
      mbps_rd: '0.000',
    });
    expect(parseDriveValue('scsi0', 'size=1G')).toBeUndefined();
  });
});

describe('parseDriveValue and config/drive parseDrive agree', () => {
  it('on the throttle keys of legacy bps values', async () => {
    const { parseDrive } = await import('../../config/drive.js');
    const value = 'local:8006/vm-8006-disk-0.raw,bps_rd=2097152,bps_wr=4096,iops=5';
    const generator = parseDriveValue('scsi1', value) as unknown as Record<string, unknown>;
    const config = parseDrive('scsi1', value) as unknown as Record<string, unknown>;
    for (const key of ['mbps_rd', 'mbps_wr', 'iops']) expect(Number(generator[key])).toBe(Number(config[key]));
    expect(generator.bps_rd).toBeUndefined();
  });
});

describe('checkDriveVolumes', () => {
  it('rejects volumes on storages without images content', () => {
    const ctx = testContext({});
    expect(() =>
      checkDriveVolumes(ctx, {
        scsi0: 'noimages:8006/vm-8006-disk-0.raw,iothread=1,size=32G',
      }),
    ).toThrow("storage 'noimages' does not support content-type 'images'");
    expect(() => checkDriveVolumes(ctx, { ide2: 'none,media=cdrom', scsi0: '/dev/sda' })).not.toThrow();
  });
});

describe('parseDriveValue memo and configDriveNames', () => {
  it('hands every caller its own copy', () => {
    const a = mustDrive('scsi0', 'local:8006/vm-8006-disk-0.qcow2,iothread=on');
    a.bootindex = 100;
    a.cache = 'writeback';
    const b = mustDrive('scsi0', 'local:8006/vm-8006-disk-0.qcow2,iothread=on');
    expect(b.bootindex).toBeUndefined();
    expect(b.cache).toBeUndefined();
    expect(b.iothread).toBe('1');
    expect(parseDriveValue('scsi0', 'iothread=1')).toBeUndefined();
    expect(parseDriveValue('scsi0', 'iothread=1')).toBeUndefined();
  });

  it('lists the drives of a config in valid_drive_names order', () => {
    const conf = {
      tpmstate0: 't',
      virtio1: 'v',
      name: 'x',
      sata0: 's',
      scsi10: 'a',
      scsi2: 'b',
      ide3: 'c',
      efidisk0: 'e',
      unused0: 'u',
      net0: 'n',
    };
    expect(configDriveNames(conf)).toEqual(['ide3', 'scsi2', 'scsi10', 'virtio1', 'sata0', 'efidisk0', 'tpmstate0']);
    expect(configDriveNames(conf)).toEqual(validDriveNames().filter((k) => k in conf));
  });
});
