import { describe, expect, it } from 'vitest';
import { checkParam } from './vm-params.js';

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
