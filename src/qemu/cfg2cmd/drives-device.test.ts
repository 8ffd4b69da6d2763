import { describe, expect, it } from 'vitest';
import { printDriveDevice, scsihwInfos } from './drives-device.js';
import { mustDrive, testContext } from './drives-test-env.js';

describe('scsihwInfos', () => {
  it('puts 7 devices on lsi, 1 on virtio-scsi-single, 256 otherwise', () => {
    expect(scsihwInfos(undefined, 9)).toEqual({
      maxdev: 7,
      controller: 1,
      prefix: 'scsihw',
    });
    expect(scsihwInfos('virtio-scsi-single', 5)).toEqual({
      maxdev: 1,
      controller: 5,
      prefix: 'virtioscsi',
    });
    expect(scsihwInfos('megasas', 30)).toEqual({
      maxdev: 256,
      controller: 0,
      prefix: 'scsihw',
    });
  });
});

describe('printDriveDevice', () => {
  const dev = (conf: Record<string, string>, key: string, opts = {}) =>
    printDriveDevice(testContext(conf, opts), mustDrive(key, conf[key] as string));

  it('prints IDE/SATA disks with model, ssd, wwn and serial escaping', () => {
    expect(
      dev(
        {
          sata1: 'local:8006/vm-8006-disk-0.raw,ssd=1,wwn=0x5000c50015ea71ac,serial=a%2Cb',
        },
        'sata1',
      ),
    ).toBe('ide-hd,bus=ahci0.1,drive=drive-sata1,id=sata1,rotation_rate=1,wwn=0x5000c50015ea71ac,serial=a,,b,write-cache=on');
    expect(
      dev(
        {
          ide0: 'local:8006/vm-8006-disk-0.raw,model=My%20Disk,cache=writethrough',
        },
        'ide0',
      ),
    ).toBe('ide-hd,bus=ide.0,unit=0,drive=drive-ide0,id=ide0,model=My Disk,write-cache=off');
  });

  it('prints SCSI vendor/product, error policies and cdroms without write-cache', () => {
    expect(
      dev(
        {
          scsihw: 'virtio-scsi-pci',
          scsi2: 'local:8006/vm-8006-disk-0.raw,vendor=ACME,product=X,rerror=stop,werror=report',
        },
        'scsi2',
      ),
    ).toBe(
      'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=2,drive=drive-scsi2,id=scsi2,device_id=drive-scsi2,vendor=ACME,product=X,write-cache=on,rerror=stop,werror=report',
    );
    expect(dev({ scsi1: 'local:iso/zero.iso,media=cdrom' }, 'scsi1')).toBe(
      'scsi-cd,bus=scsihw0.0,scsi-id=1,drive=drive-scsi1,id=scsi1,device_id=drive-scsi1',
    );
  });

  it('uses scsi-block for SCSI disks the host reports, and no device_id/write-cache before 10.0', () => {
    const ctx = testContext({ scsi0: '/dev/sdg,scsiblock=1,ssd=1' });
    ctx.host.scsiInquiry = { '/dev/sdg': 0 };
    expect(printDriveDevice(ctx, mustDrive('scsi0', '/dev/sdg,scsiblock=1,ssd=1'))).toBe(
      'scsi-block,bus=scsihw0.0,scsi-id=0,drive=drive-scsi0,id=scsi0,rotation_rate=1',
    );
    expect(
      dev({ scsi0: 'local:8006/vm-8006-disk-0.raw' }, 'scsi0', {
        machineVersion: '9.2',
      }),
    ).toBe('scsi-hd,bus=scsihw0.0,scsi-id=0,drive=drive-scsi0,id=scsi0');
  });

  it('uses scsi-generic for old iSCSI machines and drops drive= for empty drives in blockdev mode', () => {
    expect(
      dev({ scsi0: 'zfs-over-iscsi-store:vm-8006-disk-0' }, 'scsi0', {
        machineVersion: '4.0',
      }),
    ).toBe('scsi-generic,bus=scsihw0.0,scsi-id=0,drive=drive-scsi0,id=scsi0');
    expect(dev({ ide2: 'none,media=cdrom' }, 'ide2')).toBe('ide-cd,bus=ide.1,unit=0,id=ide2');
    expect(dev({ ide2: 'none,media=cdrom' }, 'ide2', { machineVersion: '9.2' })).toBe('ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2');
  });
});
