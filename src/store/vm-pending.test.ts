import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../config/types.js';
import { addUnusedVolume, applyPending, stageChanges, volumeOwner } from './vm-pending.js';

const vm = (conf: Record<string, string>, pending: Record<string, string> = {}): VmConfig => ({
  vmid: 100,
  digest: '',
  conf,
  pending,
  special: {},
  snapshots: {},
});

describe('pending changes and unused disks', () => {
  it('finds the owner of a volume from its name', () => {
    expect(volumeOwner('local:100/vm-100-disk-0.qcow2')).toBe(100);
    expect(volumeOwner('rbd:vm-101-disk-1')).toBe(101);
    expect(volumeOwner('local:100/base-100-disk-0.raw/101/vm-101-disk-0.qcow2')).toBe(101);
    expect(volumeOwner('local:iso/debian.iso')).toBeUndefined();
    expect(volumeOwner('/dev/sdb')).toBeUndefined();
  });

  it('adds unused volumes at the lowest free index without duplicates', () => {
    const conf = { unused0: 'a:vm-100-disk-0', unused2: 'a:vm-100-disk-2' };
    expect(addUnusedVolume(conf, 'a:vm-100-disk-5')).toBe('unused1');
    expect(addUnusedVolume(conf, 'a:vm-100-disk-5')).toBeUndefined();
    expect(addUnusedVolume(conf, 'a:vm-100-cloudinit')).toBeUndefined();
    expect(conf).toEqual({ unused0: 'a:vm-100-disk-0', unused1: 'a:vm-100-disk-5', unused2: 'a:vm-100-disk-2' });
  });

  it('keeps a replaced or deleted own disk as unusedN, but not a cd-rom or foreign disk', () => {
    const cfg = vm({
      scsi0: 'local:100/vm-100-disk-0.qcow2,size=8G',
      scsi1: 'local:101/vm-101-disk-0.qcow2,size=8G',
      ide2: 'local:iso/a.iso,media=cdrom',
      virtio0: 'local:100/vm-100-disk-3.raw,size=1G',
    });
    stageChanges(cfg, { params: { scsi0: 'local:100/vm-100-disk-1.qcow2,size=8G' }, deletes: ['scsi1', 'ide2', 'virtio0'], force: false });
    expect(cfg.pending).toEqual({ scsi0: 'local:100/vm-100-disk-1.qcow2,size=8G', delete: 'ide2,scsi1,virtio0' });
    applyPending(cfg);
    expect(cfg.pending).toEqual({});
    expect(cfg.conf).toEqual({
      scsi0: 'local:100/vm-100-disk-1.qcow2,size=8G',
      unused0: 'local:100/vm-100-disk-3.raw',
      unused1: 'local:100/vm-100-disk-0.qcow2',
    });
  });

  it('warns about deleting what is not set and drops a pending deletion when the key is set again', () => {
    const cfg = vm({ cores: '1' }, { delete: 'memory' });
    const effects = stageChanges(cfg, { params: { memory: '512' }, deletes: ['numa'], force: false });
    expect(effects.warnings).toEqual(["cannot delete 'numa' - not set in current configuration!"]);
    expect(cfg.pending).toEqual({ memory: '512' });
  });

  it('removes a deleted device from the boot order and checks a new boot order', () => {
    const cfg = vm({ boot: 'order=scsi0;net0', scsi0: 'local:100/vm-100-disk-0.raw', net0: 'virtio=BC:24:11:00:00:01' });
    stageChanges(cfg, { params: {}, deletes: ['net0'], force: false });
    expect(cfg.pending.boot).toBe('order=scsi0');
    expect(() => stageChanges(vm({}), { params: { boot: 'order=scsi5' }, deletes: [], force: false })).toThrow(
      "invalid bootorder: device 'scsi5' does not exist'",
    );
  });

  it('frees deleted unused disks of the VM and refuses with protection', () => {
    const cfg = vm({ unused0: 'local:100/vm-100-disk-9.raw', unused1: 'local:101/vm-101-disk-0.raw' });
    const effects = stageChanges(cfg, { params: {}, deletes: ['unused0', 'unused1'], force: false });
    expect(effects.freeVolumes).toEqual(['local:100/vm-100-disk-9.raw']);
    expect(cfg.conf).toEqual({});
    expect(() => stageChanges(vm({ protection: '1', scsi0: 'a:vm-100-disk-0' }), { params: {}, deletes: ['scsi0'], force: false })).toThrow(
      "can't remove drive 'scsi0' - protection mode enabled",
    );
  });
});
