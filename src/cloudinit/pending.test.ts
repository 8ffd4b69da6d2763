import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../config/types.js';
import { applyFastPlug } from '../store/vm-pending.js';
import { assertSingleCloudinitDrive, cloudinitPending, hasCloudinitChanges, recordCloudinitChange } from './pending.js';

const vm = (conf: Record<string, string>, special: Record<string, string> | undefined = undefined): VmConfig => ({
  vmid: 300,
  digest: '',
  conf,
  pending: {},
  special: special ? { cloudinit: special } : {},
  snapshots: {},
});

/** Apply a change the way a running VM's `set` does: record it, then change the config. */
function change(cfg: VmConfig, key: string, next: string | undefined): void {
  recordCloudinitChange(cfg, key, cfg.conf[key], next);
  if (next === undefined) delete cfg.conf[key];
  else cfg.conf[key] = next;
}

describe('[special:cloudinit] records (cloudinit_record_changed)', () => {
  it('keeps the image value of a changed key through several changes and forgets it when reverted', () => {
    const cfg = vm({ ciuser: 'bob' });
    change(cfg, 'ciuser', 'alice');
    expect(cfg.special.cloudinit).toEqual({ ciuser: 'bob' });
    change(cfg, 'ciuser', 'carol');
    expect(cfg.special.cloudinit).toEqual({ ciuser: 'bob' });
    change(cfg, 'ciuser', 'bob');
    expect(cfg.special.cloudinit).toEqual({});
    expect(hasCloudinitChanges(cfg)).toBe(false);
  });

  it('lists new keys in `added` (sorted) and drops them again when deleted', () => {
    const cfg = vm({});
    change(cfg, 'sshkeys', 'ssh-rsa%20A');
    change(cfg, 'nameserver', '192.0.2.1');
    expect(cfg.special.cloudinit).toEqual({ added: 'nameserver,sshkeys' });
    change(cfg, 'sshkeys', 'ssh-rsa%20B');
    expect(cfg.special.cloudinit).toEqual({ added: 'nameserver,sshkeys' });
    change(cfg, 'nameserver', undefined);
    change(cfg, 'sshkeys', undefined);
    expect(cfg.special.cloudinit).toEqual({});
  });

  it('records the old value of a deleted key, and covers name, netN and ipconfigN but not other keys', () => {
    const cfg = vm({ searchdomain: 'example.com', name: 'a', net0: 'virtio=BC:24:11:00:00:01', memory: '512' });
    change(cfg, 'searchdomain', undefined);
    change(cfg, 'name', 'b');
    change(cfg, 'net0', 'virtio=BC:24:11:00:00:02');
    change(cfg, 'ipconfig0', 'ip=dhcp');
    change(cfg, 'memory', '1024');
    expect(cfg.special.cloudinit).toEqual({ searchdomain: 'example.com', name: 'a', net0: 'virtio=BC:24:11:00:00:01', added: 'ipconfig0' });
  });
});

describe('cloudinit pending rows (GET …/cloudinit)', () => {
  it('shows added keys, current values with their image value, and deletions; passwords masked', () => {
    const cfg = vm(
      { ciuser: 'alice', cipassword: '$5$x$y', citype: 'nocloud', ipconfig0: 'ip=dhcp', ciupgrade: '0', memory: '512' },
      { ciuser: 'bob', cipassword: '$5$old$z', searchdomain: 'example.com', added: 'ipconfig0' },
    );
    expect(cloudinitPending(cfg)).toEqual([
      { key: 'ipconfig0', pending: 'ip=dhcp' },
      { key: 'cipassword', value: '**********', pending: '**********' },
      { key: 'citype', value: 'nocloud' },
      { key: 'ciuser', value: 'bob', pending: 'alice' },
      { key: 'searchdomain', delete: 1 },
    ]);
    // the config itself is not touched
    expect(cfg.conf.cipassword).toBe('$5$x$y');
  });
});

describe('one cloud-init drive per VM', () => {
  it("refuses a second one with qemu-server's text, allows replacing it on the same key", () => {
    const cfg = { conf: { ide2: 'local:300/vm-300-cloudinit.qcow2,media=cdrom' }, pending: {} };
    expect(() => assertSingleCloudinitDrive(cfg, { scsi1: 'local:cloudinit' })).toThrow(
      "scsi1 - cloud-init drive is already attached at 'ide2'",
    );
    expect(() => assertSingleCloudinitDrive(cfg, { ide2: 'local:cloudinit' })).not.toThrow();
    expect(() => assertSingleCloudinitDrive({ conf: {}, pending: {} }, { ide0: 'local:cloudinit', ide2: 'other:cloudinit' })).toThrow(
      "ide2 - cloud-init drive is already attached at 'ide0'",
    );
    expect(() => assertSingleCloudinitDrive({ conf: {}, pending: { sata0: 'local:cloudinit' } }, { ide2: 'local:cloudinit' })).toThrow(
      "ide2 - cloud-init drive is already attached at 'sata0'",
    );
  });
});

describe('a running VM takes cloud-init keys at once (fast plug) and records them', () => {
  it('applies ciuser, ipconfigN and name from [PENDING] and deletions, noting the image values', () => {
    const cfg = vm({ ciuser: 'bob', ipconfig0: 'ip=dhcp', nameserver: '192.0.2.1', memory: '512' });
    cfg.pending = { ciuser: 'alice', ipconfig0: 'ip=192.0.2.10/24', ipconfig1: 'ip=dhcp', memory: '1024', delete: 'nameserver' };
    applyFastPlug(cfg);
    expect(cfg.conf).toEqual({ ciuser: 'alice', ipconfig0: 'ip=192.0.2.10/24', ipconfig1: 'ip=dhcp', memory: '512' });
    expect(cfg.pending).toEqual({ memory: '1024' });
    expect(cfg.special.cloudinit).toEqual({ ciuser: 'bob', ipconfig0: 'ip=dhcp', nameserver: '192.0.2.1', added: 'ipconfig1' });
  });
});
