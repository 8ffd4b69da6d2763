import { describe, expect, it } from 'vitest';
import { shouldFsFreeze } from './freeze.js';

// should_fs_freeze: qemu-server's reading of the `agent` property string
describe('whether a snapshot freezes the guest file systems', () => {
  it('freezes with an enabled agent unless freeze-fs (or an old alias of it) is 0', () => {
    expect(shouldFsFreeze('1')).toBe(true);
    expect(shouldFsFreeze('enabled=1,type=isa')).toBe(true);
    expect(shouldFsFreeze('1,freeze-fs=1')).toBe(true);
    expect(shouldFsFreeze('1,freeze-fs=0')).toBe(false);
    expect(shouldFsFreeze('1,freeze-fs-on-backup=0')).toBe(false);
    expect(shouldFsFreeze('1,guest-fsfreeze=0')).toBe(false);
  });

  it('does not freeze without an agent or with a disabled one', () => {
    expect(shouldFsFreeze(undefined)).toBe(false);
    expect(shouldFsFreeze('0')).toBe(false);
    expect(shouldFsFreeze('enabled=0,freeze-fs=1')).toBe(false);
  });
});
