import { describe, expect, it } from 'vitest';
import { configKeyNames } from '../config/options/index.js';
import { checkParam, isSettableKey } from './vm-params.js';

function message(key: string, value: string): string {
  try {
    checkParam(key, value);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('PARAM_INVALID');
    return (err as Error).message;
  }
  throw new Error(`${key}=${value} was accepted`);
}

describe('checkParam: numbers too large to mean anything', () => {
  it('refuses top-level integers beyond 2^53 - 1 (Perl would store 1e+20 and fail to write it back)', () => {
    expect(message('cores', '99999999999999999999')).toBe(
      "cores: invalid value '99999999999999999999' - value must have a maximum value of 9007199254740991 (allowed: integer >= 1)",
    );
    expect(message('sockets', '9007199254740992')).toContain('maximum value of 9007199254740991');
    expect(checkParam('sockets', '9007199254740991')).toBe('9007199254740991');
  });

  it('refuses property-string integers beyond 2^53 - 1, naming the sub-key', () => {
    expect(message('memory', '99999999999999999999')).toContain('current: value must have a maximum value of 9007199254740991');
    expect(message('memory', 'current=123456789012345678')).toContain('current:');
    expect(checkParam('memory', '4096')).toBe('4096');
  });
});

describe('checkParam: error lines stay readable', () => {
  it('shows line breaks as \\n instead of breaking the line', () => {
    expect(message('name', 'a\nb')).toBe("name: invalid value 'a\\nb' - property contains a line feed (allowed: dns-name)");
  });

  it('cuts a huge value, also where the reason repeats it', () => {
    const m = message('cores', 'z'.repeat(1000));
    expect(m).toContain(`'${'z'.repeat(120)}…' (1000 characters)`);
    expect(m.length).toBeLessThan(400);
  });

  it('keeps the description multi-line (comment lines) but checks its length', () => {
    expect(checkParam('description', 'a\nb')).toBe('a\nb');
    expect(message('description', 'x'.repeat(8193))).toContain('(8193 characters) - value may only be 8192 characters long');
  });
});

describe('checkParam: args', () => {
  it('refuses args shellwords cannot split instead of storing a line QEMU would never see', () => {
    expect(message('args', "-device 'a b")).toBe(
      "args: invalid value '-device 'a b' - unbalanced quote or trailing backslash - QEMU would get none of these arguments (allowed: string)",
    );
    expect(message('args', '-a b\\')).toContain('trailing backslash');
    expect(checkParam('args', `-device 'virtio-rng-pci,id=x' -name "a b"`)).toBe(`-device 'virtio-rng-pci,id=x' -name "a b"`);
  });
});

describe('checkParam: values that could not be read back or generated (issue 12, point 10)', () => {
  it('refuses empty values the reader or the generator would fail on, pointing to --delete', () => {
    for (const key of ['sshkeys', 'affinity', 'machine', 'vga', 'usb0', 'hostpci0', 'tags', 'args']) {
      expect(message(key, '')).toMatch(new RegExp(`^${key}: invalid value '' - empty value - use --delete ${key} to remove it`));
      expect(message(key, ' \t')).toContain('empty value');
    }
  });

  it('accepts a blank only where it means something once read back', () => {
    expect(checkParam('boot', '')).toBe('');
    expect(checkParam('description', '')).toBe('');
    const accepted = configKeyNames()
      .filter((key) => isSettableKey(key))
      .filter((key) => {
        try {
          checkParam(key, '');
          return true;
        } catch {
          return false;
        }
      });
    expect(accepted).toEqual(['boot', 'description']);
  });

  it('treats a no-break space as a character, like Perl on the bytes of the config file', () => {
    expect(message('hotplug', '\u00a0')).toContain("invalid hotplug feature '\u00a0'");
    expect(message('hotplug', 'disk\u00a0')).toContain("invalid hotplug feature 'disk\u00a0'");
    expect(message('affinity', '0\u00a0')).toContain('unable to parse cpuset option');
    // ASCII whitespace still separates, as split_list does
    expect(checkParam('hotplug', 'disk\tusb')).toBe('disk\tusb');
    expect(checkParam('affinity', ' 0-1 ')).toBe(' 0-1 ');
  });

  it('refuses a NUL byte, which no config line or QEMU argument can carry', () => {
    expect(message('args', '-a b\0c')).toContain('value contains a NUL byte');
    expect(message('name', 'a\0b')).toMatch(/^name: invalid value/);
  });
});

describe("checkParam: drives get the reader's parse_drive checks (issue 12, point 11)", () => {
  it.each([
    ['virtio0', 'local:1,media=cdrom', 'virtio does not support media=cdrom'],
    ['scsi1', 'local:1,mbps=1,bps=2', 'both bps and mbps specified'],
    ['scsi1', 'local:1,mbps_max=3', 'mbps_max requires mbps'],
    ['sata0', 'local:1,iops_rd=1,iops=2', 'iops_rd cannot be combined with iops'],
    ['ide2', 'none,media=cdrom,snapshot=1', "a cdrom cannot have 'snapshot' or 'format'"],
  ])('%s %s', (key, value, reason) => {
    expect(message(key, value)).toMatch(new RegExp(`^${key}: invalid value '${value}' - ${reason} \\(allowed: property string: `));
  });

  it('still accepts valid drives and allocations', () => {
    expect(checkParam('scsi0', 'local:1,iothread=1,mbps=10,mbps_max=20')).toBe('local:1,iothread=1,mbps=10,mbps_max=20');
    expect(checkParam('ide2', 'none,media=cdrom')).toBe('none,media=cdrom');
  });
});
