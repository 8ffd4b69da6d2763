import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../types.js';
import { parseVmConfig } from './parse.js';
import { writeVmConfig } from './write.js';

const make = (over: Partial<VmConfig>): VmConfig => ({
  vmid: 100,
  digest: '',
  conf: {},
  pending: {},
  special: {},
  snapshots: {},
  ...over,
});

describe('writeVmConfig', () => {
  it('writes the description first as escaped comment lines, then sorted keys', () => {
    const text = writeVmConfig(make({ conf: { name: 'x', cores: '1', description: 'line: one\n\n100%\n\n' } }));
    expect(text).toBe('#line%3A one\n#\n#100%25\ncores: 1\nname: x\n');
  });

  it('does not write a false description, except an empty one in [PENDING]', () => {
    expect(writeVmConfig(make({ conf: { description: '0', cores: '1' } }))).toBe('cores: 1\n');
    expect(writeVmConfig(make({ conf: { cores: '1' }, pending: { description: '' } }))).toBe('cores: 1\n\n[PENDING]\n#\n');
  });

  it('normalises values with check_type and refuses invalid ones', () => {
    expect(writeVmConfig(make({ conf: { onboot: 'yes', startdate: '"now"' } }))).toBe('onboot: 1\nstartdate: now\n');
    expect(() => writeVmConfig(make({ conf: { cores: 'two' } }))).toThrow(
      "unable to parse value of 'cores' - type check ('integer') failed - got 'two'",
    );
    expect(() => writeVmConfig(make({ snapshots: { s: { bogus: '1' } } }))).toThrow(
      "unable to parse value of 'bogus' - unknown setting 'bogus'",
    );
  });

  it('moves cdrom to ide2 and refuses both at once', () => {
    expect(writeVmConfig(make({ conf: { cdrom: 'none,media=cdrom' } }))).toBe('ide2: none,media=cdrom\n');
    expect(() => writeVmConfig(make({ conf: { cdrom: 'none', ide2: 'none' } }))).toThrow('option ide2 conflicts with cdrom');
  });

  it('turns legacy smp into sockets (dropping cores) unless sockets is set', () => {
    expect(writeVmConfig(make({ conf: { smp: '2', cores: '4' } }))).toBe('sockets: 2\n');
    expect(writeVmConfig(make({ conf: { smp: '2', sockets: '1', cores: '4' } }))).toBe('cores: 4\nsockets: 1\n');
  });

  it("allows 'delete' only in [PENDING] and forbids a snapshot named pending", () => {
    expect(() => writeVmConfig(make({ conf: { delete: 'x' } }))).toThrow("propertry 'delete' is only allowed in [PENDING]");
    expect(writeVmConfig(make({ pending: { delete: 'tags' } }))).toBe('\n[PENDING]\ndelete: tags\n');
    expect(() => writeVmConfig(make({ snapshots: { PENDING: { cores: '1' } } }))).toThrow(
      "internal error: snapshot name 'PENDING' is forbidden",
    );
  });

  it('drops unusedN for volumes a drive in the main or pending section uses again', () => {
    const text = writeVmConfig(
      make({
        conf: { unused0: 'local:vm-100-disk-0', unused1: 'local:vm-100-disk-1', unused2: 'local:vm-100-disk-2' },
        pending: { scsi1: 'local:vm-100-disk-1,size=1G' },
        snapshots: { s: { scsi2: 'local:vm-100-disk-2,size=1G' } },
      }),
    );
    expect(text).toContain('unused0: local:vm-100-disk-0\n');
    expect(text).not.toContain('unused1');
    expect(text).toContain('unused2: local:vm-100-disk-2\n');
  });

  it('writes [special:cloudinit] only with a cloud-init drive; other specials always', () => {
    const special = { cloudinit: { name: 'old' }, fleecing: { 'fleecing-images': 'a:b' } };
    expect(writeVmConfig(make({ conf: { cores: '1' }, special }))).toBe('cores: 1\n\n[special:fleecing]\nfleecing-images: a:b\n');
    expect(writeVmConfig(make({ conf: { ide2: 'nfs:100/vm-100-cloudinit.qcow2,media=cdrom' }, special }))).toBe(
      'ide2: nfs:100/vm-100-cloudinit.qcow2,media=cdrom\n\n[special:cloudinit]\nname: old\n\n[special:fleecing]\nfleecing-images: a:b\n',
    );
  });

  it('does not modify its input', () => {
    const cfg = make({ conf: { cdrom: 'none', onboot: 'yes', snapstate: 'prepare' } });
    const copy = structuredClone(cfg);
    writeVmConfig(cfg);
    expect(cfg).toEqual(copy);
  });

  it('orders sections: main, PENDING, specials by name, snapshots by name', () => {
    const text = writeVmConfig(
      make({
        conf: { cores: '1' },
        pending: { cores: '2' },
        special: { fleecing: {} },
        snapshots: { zz: { cores: '1' }, aa: { cores: '1' } },
      }),
    );
    expect(text).toBe('cores: 1\n\n[PENDING]\ncores: 2\n\n[special:fleecing]\n\n[aa]\ncores: 1\n\n[zz]\ncores: 1\n');
    expect(writeVmConfig(parseVmConfig('/x/qemu-server/100.conf', text, { strict: true }))).toBe(text);
  });
});
