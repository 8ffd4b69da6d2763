/**
 * @module qemu/cfg2cmd/split-args.test
 * Custom args splitting (Text::ParseWords::shellwords semantics).
 */
import { describe, expect, it } from 'vitest';
import { splitArgs } from './split-args.js';

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
