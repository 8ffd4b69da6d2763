/**
 * @module qemu/cfg2cmd/split-args.test
 * Custom args splitting (Text::ParseWords::shellwords semantics).
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSplittableArgs, splitArgs } from './split-args.js';

describe('splitArgs (Text::ParseWords::shellwords)', () => {
  it('splits on whitespace and removes quotes', () => {
    expect(splitArgs(`-a 'b c' -d "e \\"f\\"" g\\ h`)).toEqual(['-a', 'b c', '-d', 'e "f"', 'g h']);
  });
  it('joins adjacent quoted parts into one word', () => {
    expect(splitArgs(`x'y z'"w"`)).toEqual(['xy zw']);
  });
  it('returns nothing for blank input', () => {
    expect(splitArgs('   ')).toEqual([]);
  });
});

describe('splitArgs: input Perl cannot parse', () => {
  it('gives no words at all for an unbalanced quote or a trailing backslash, like shellwords', () => {
    expect(splitArgs(`-device 'a b`)).toEqual([]);
    expect(splitArgs(`-device "a b`)).toEqual([]);
    expect(splitArgs(`-a b\\`)).toEqual([]);
    expect(isSplittableArgs(`-device 'a b`)).toBe(false);
    expect(isSplittableArgs(`-device 'a b'`)).toBe(true);
  });

  it('keeps backslashes in single quotes and splits only on ASCII whitespace', () => {
    expect(splitArgs(`'e\\f' 'a\\'b'`)).toEqual(['e\\f', "a\\'b"]);
    expect(splitArgs('a\u00a0b\tc\nd')).toEqual(['a\u00a0b', 'c', 'd']);
    expect(splitArgs(`'' x`)).toEqual(['', 'x']);
  });
});

const perlHasParseWords = (() => {
  const r = spawnSync('perl', ['-MText::ParseWords', '-MJSON::PP', '-e', '1']);
  return r.status === 0;
})();

describe.skipIf(!perlHasParseWords)('splitArgs against Perl Text::ParseWords::shellwords', () => {
  it('agrees on random strings of quotes, backslashes and whitespace', () => {
    const chars = ['a', 'b', ' ', '\t', '\n', '"', "'", '\\', '-', '=', ','];
    const cases = fc.sample(
      fc.array(fc.constantFrom(...chars), { maxLength: 14 }).map((a) => a.join('')),
      2000,
    );
    const perl = spawnSync(
      'perl',
      [
        '-MText::ParseWords',
        '-MJSON::PP',
        '-e',
        'local $/; print encode_json([map { [Text::ParseWords::shellwords($_)] } @{decode_json(<STDIN>)}])',
      ],
      { input: JSON.stringify(cases), encoding: 'utf8' },
    );
    const expected = JSON.parse(perl.stdout) as string[][];
    cases.forEach((text, i) => {
      expect([text, splitArgs(text)]).toEqual([text, expected[i]]);
    });
  });
});
