import { describe, expect, it } from 'vitest';
import { assertNotLocked } from './lock.js';

describe('assertNotLocked (qemu-server check_lock)', () => {
  it('passes a config without lock', () => {
    expect(() => assertNotLocked({ memory: '128' })).not.toThrow();
  });

  it("refuses a locked config with qemu-server's text and VM_LOCKED (exit 1)", () => {
    expect(() => assertNotLocked({ lock: 'backup' })).toThrow('VM is locked (backup)');
    expect(() => assertNotLocked({ lock: 'migrate' })).toThrow(expect.objectContaining({ code: 'VM_LOCKED' }));
  });

  it('lets --skiplock and the allowed locks through', () => {
    expect(() => assertNotLocked({ lock: 'snapshot' }, { skiplock: true })).not.toThrow();
    expect(() => assertNotLocked({ lock: 'backup' }, { allow: ['backup'] })).not.toThrow();
    expect(() => assertNotLocked({ lock: 'migrate' }, { allow: ['backup'] })).toThrow('VM is locked (migrate)');
  });
});
