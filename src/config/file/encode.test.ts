import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeText, encodeText } from './encode.js';

describe('encodeText / decodeText (pve-common encode_text / decode_text)', () => {
  it('escapes controls, high bytes, % and : with upper-case hex', () => {
    expect(encodeText('a:b%c')).toBe('a%3Ab%25c');
    expect(encodeText('café')).toBe('caf%C3%A9');
    expect(encodeText('tab\there\r')).toBe('tab%09here%0D');
    expect(encodeText('plain text, with [brackets] & ~tilde #hash')).toBe('plain text, with [brackets] & ~tilde #hash');
    expect(encodeText('\x7f')).toBe('%7F');
  });

  it('decodes either hex case, leaves stray percent signs alone and is lenient on bad UTF-8', () => {
    expect(decodeText('caf%c3%a9 %3a %3A')).toBe('café : :');
    expect(decodeText('100% sure %G1 %4')).toBe('100% sure %G1 %4');
    expect(decodeText('bad %FF byte')).toBe('bad \uFFFD byte');
    expect(decodeText('raw é stays')).toBe('raw é stays');
  });

  it('round-trips any well-formed string and only emits safe characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const encoded = encodeText(text);
        return /^[\x20-\x24\x26-\x39\x3b-\x7e%]*$/.test(encoded) && decodeText(encoded) === text;
      }),
      { numRuns: 200 },
    );
  });
});
