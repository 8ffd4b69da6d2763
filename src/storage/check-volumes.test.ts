import { describe, expect, it } from 'vitest';
import { checkDriveVolumes } from './alloc.js';
import type { StorageConfig } from './types.js';

const storage: StorageConfig = {
  local: { type: 'dir', path: '/srv/vz', content: ['images', 'iso', 'vztmpl'] },
};

async function check(conf: Record<string, string>): Promise<string | undefined> {
  try {
    await checkDriveVolumes({ root: '/nonexistent', conf, keys: Object.keys(conf), storage });
    return undefined;
  } catch (err) {
    expect((err as { code?: string }).code).toBe('PARAM_INVALID');
    return (err as Error).message;
  }
}

describe('checkDriveVolumes (qemu-server create/update volume checks)', () => {
  it('passes allocations, paths, none, cdrom, cloud-init and well-formed volumes', async () => {
    expect(await check({ scsi0: 'local:8,format=qcow2', scsi1: '/tmp/a b.img', ide0: 'none', ide1: 'cdrom,media=cdrom' })).toBeUndefined();
    expect(await check({ ide2: 'local:cloudinit,media=cdrom', scsi2: 'local:100/vm-100-disk-0.raw' })).toBeUndefined();
    expect(await check({ ide2: 'local:iso/debian.iso,media=cdrom', unused0: 'local:100/vm-100-disk-1.qcow2' })).toBeUndefined();
  });

  it('refuses volume names the storage plugin cannot parse, naming key and value', async () => {
    expect(await check({ scsi0: 'local:-1' })).toBe("scsi0: invalid value 'local:-1' - unable to parse directory volume name '-1'");
    expect(await check({ virtio0: 'local:../../etc/passwd' })).toContain("unable to parse directory volume name '../../etc/passwd'");
  });

  it('refuses an allocation larger than qemu-img can create, before creating anything', async () => {
    expect(await check({ scsi0: 'local:8589934592' })).toBe(
      "scsi0: invalid value 'local:8589934592' - size 8589934592 GiB is too large (allowed: at most 8589934591 GiB)",
    );
    expect(await check({ scsi0: 'local:8589934591' })).toBeUndefined();
  });

  it('refuses unknown storages, non-drive content and isos without media=cdrom', async () => {
    expect(await check({ scsi0: 'nosuch:100/vm-100-disk-0.raw' })).toContain("storage 'nosuch' does not exist");
    expect(await check({ scsi0: 'local:vztmpl/x.tar.gz' })).toContain("content type needs to be 'images' or 'iso'");
    expect(await check({ sata0: 'local:iso/x.iso' })).toBe(
      "sata0: invalid value 'local:iso/x.iso' - explicit 'media=cdrom' is required for iso images",
    );
  });
});

describe('freeVolumes / destroyVolumes', () => {
  it('freeVolumes removes only the named volumes, destroyVolumes every image of the VM', async () => {
    const { mkdtempSync, mkdirSync, readdirSync, writeFileSync, existsSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { freeVolumes, destroyVolumes } = await import('./alloc.js');
    const base = mkdtempSync(join(tmpdir(), 'cvmctl-free-'));
    try {
      const dir = join(base, 'images', '100');
      mkdirSync(dir, { recursive: true });
      for (const n of ['vm-100-disk-0.raw', 'vm-100-disk-1.raw', 'vm-100-disk-2.qcow2']) writeFileSync(join(dir, n), '');
      const context = {
        storage: { local: { type: 'dir' as const, path: base, content: ['images'] } },
      } as unknown as Parameters<typeof freeVolumes>[0]['context'];
      await freeVolumes({ root: base, vmid: 100, conf: { unused0: 'local:100/vm-100-disk-1.raw' }, context });
      expect(readdirSync(dir).sort()).toEqual(['vm-100-disk-0.raw', 'vm-100-disk-2.qcow2']);
      await destroyVolumes({ root: base, vmid: 100, conf: { scsi0: 'local:100/vm-100-disk-0.raw' }, context });
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
