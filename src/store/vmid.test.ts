import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { CvmError } from '../errors.js';
import { quotedValue } from './quote.js';
import { parseVmid } from './vmid.js';

function rejection(text: string, what?: string): string {
  try {
    parseVmid(text, what);
  } catch (err) {
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).code).toBe('PARAM_INVALID');
    return (err as Error).message;
  }
  throw new Error(`'${text}' was accepted`);
}

describe('parseVmid (pve-vmid)', () => {
  it('accepts 100 … 999999999 written plainly', () => {
    expect(parseVmid('100')).toBe(100);
    expect(parseVmid('999999999')).toBe(999_999_999);
  });

  it('refuses leading zeros, which would otherwise name another VM', () => {
    expect(rejection('0100')).toBe(
      "vmid: invalid value '0100' - value does not look like a valid VM ID (allowed: integer between 100 and 999999999)",
    );
  });

  it('names the reason: type, minimum, maximum', () => {
    expect(rejection('abc')).toContain("type check ('integer') failed");
    expect(rejection('1e3')).toContain("type check ('integer') failed");
    expect(rejection(' 100')).toContain("type check ('integer') failed");
    expect(rejection('-1')).toContain('minimum value of 100');
    expect(rejection('99')).toContain('minimum value of 100');
    expect(rejection('1000000000')).toContain('maximum value of 999999999');
    expect(rejection('x', '--vmid')).toMatch(/^--vmid: invalid value 'x'/);
  });

  test.prop([fc.string()])('accepts exactly the canonical decimal ids in range', (text) => {
    const canonical = /^[1-9][0-9]{2,8}$/.test(text);
    if (canonical) expect(parseVmid(text)).toBe(Number(text));
    else expect(() => parseVmid(text)).toThrow(CvmError);
  });
});

describe('quotedValue', () => {
  it('quotes short values as they are and shows line breaks', () => {
    expect(quotedValue('a,b')).toBe("'a,b'");
    expect(quotedValue('a\nb\r')).toBe("'a\\nb\\r'");
  });

  it('cuts long values and gives their length', () => {
    const q = quotedValue('y'.repeat(500));
    expect(q).toBe(`'${'y'.repeat(120)}…' (500 characters)`);
  });
});
