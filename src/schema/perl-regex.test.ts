/**
 * @module schema/perl-regex.test
 * The Perl → JavaScript pattern translation, checked on the constructs qemu-server's own
 * patterns use (atomic groups, `{,n}`, `$` before a final newline, byte-string `.` and `\s`).
 */
import { describe, expect, it } from 'vitest';
import { checkValue } from './index.js';
import { perlRegexToJs } from './perl-regex.js';

const matches = (pattern: string, value: string): boolean => !('error' in checkValue({ type: 'string', pattern }, value));

describe('perlRegexToJs', () => {
  it('passes ordinary patterns through', () => {
    expect(perlRegexToJs('[acdn]{1,4}')).toBe('[acdn]{1,4}');
    expect(perlRegexToJs('net\\d+=\\d+(,net\\d+=\\d+)*')).toBe('net\\d+=\\d+(,net\\d+=\\d+)*');
  });

  it("supports the atomic group of qemu-server's cpu cmdline pattern", () => {
    const cpu = '^((?>[+-]?[\\w\\-\\._=]+,?)+)$';
    expect(matches(cpu, 'host,+aes,-pcid')).toBe(true);
    expect(matches(cpu, 'host,+aes,')).toBe(true);
    expect(matches(cpu, 'host;+aes')).toBe(false);
  });

  it('reads {,n} as {0,n} (Perl 5.34+, the SMBIOS fields)', () => {
    const field = '[A-Za-z0-9\\-_\\s]{,8}';
    expect(matches(field, '')).toBe(true);
    expect(matches(field, 'ABC def_')).toBe(true);
    expect(matches(field, 'ABCDEFGHI')).toBe(false);
  });

  it('gives . and \\s their byte-string meaning and $ its final-newline allowance', () => {
    expect(matches('a.b', 'a\rb')).toBe(true);
    expect(matches('a.b', 'a\nb')).toBe(false);
    expect(matches('a\\sb', 'a\u00a0b')).toBe(false);
    expect(matches('a[\\s]b', 'a\u2028b')).toBe(false);
    expect(matches('a\\sb', 'a\tb')).toBe(true);
    expect(matches('^0x[0-9a-fA-F]{4}$', '0x1af4')).toBe(true);
    expect(matches('^0x[0-9a-fA-F]{4}$', '0x1af4\n')).toBe(true);
    expect(matches('\\Aab\\z', 'ab')).toBe(true);
  });

  it("keeps PVE's unparenthesised alternation quirk", () => {
    expect(matches('/dev/parport\\d+|/dev/usb/lp\\d+', '/dev/parport0junk')).toBe(true);
  });

  it('turns a pattern JavaScript cannot compile into an internal CvmError', () => {
    expect(() => checkValue({ type: 'string', pattern: '(?<=a+' }, 'x')).toThrow("unsupported schema pattern '(?<=a+'");
  });
});
