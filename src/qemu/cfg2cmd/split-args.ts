/**
 * @module qemu/cfg2cmd/split-args
 * Custom `args` are split like Perl's Text::ParseWords::shellwords (PVE::Tools::split_args),
 * which is `parse_line('\s+', 0, $line)` after leading whitespace is dropped: ASCII whitespace
 * separates words; in double quotes a backslash escapes any character; single quotes are
 * literal (a backslash only keeps a `'` from closing them and stays in the word); outside
 * quotes a backslash escapes the next character; adjacent pieces join into one word. A line
 * Perl cannot parse — an unbalanced quote or a trailing lone backslash — yields no words at
 * all, as in qemu-server (never a partial split that would turn `-device 'a b` into a bare
 * `-device`); `customArgs` says so in a warning instead of dropping the line silently, and
 * refuses a NUL byte, which exec would cut the argument at. `isSplittableArgs` tells input
 * validation whether a value parses.
 */

import { CvmError } from '../../errors.js';

/** Perl's `\s` on a byte string: space, \t, \n, \r, \f and (since 5.18) \v. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/** The words, or undefined when Perl's parse_line gives up. */
function parse(input: string): string[] | undefined {
  let i = 0;
  const n = input.length;
  while (i < n && isSpace(input[i])) i++;
  const words: string[] = [];
  let word = '';
  let pending = false; // a word has started (possibly empty, e.g. '')
  while (i < n) {
    const c = input[i] as string;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && input[j] !== c) j += input[j] === '\\' ? 2 : 1;
      if (j >= n) return undefined; // unbalanced quote
      const raw = input.slice(i + 1, j);
      word += c === '"' ? raw.replace(/\\([\s\S])/g, '$1') : raw;
      pending = true;
      i = j + 1;
      continue;
    }
    // unquoted run: escaped characters or anything but backslash and quotes, up to a delimiter
    let j = i;
    while (j < n) {
      const d = input[j] as string;
      if (isSpace(d) || d === '"' || d === "'") break;
      if (d === '\\') {
        if (j + 1 >= n) return undefined; // a trailing lone backslash
        word += input[j + 1];
        j += 2;
      } else {
        word += d;
        j++;
      }
    }
    pending = pending || j > i;
    i = j;
    if (i < n && isSpace(input[i])) {
      while (i < n && isSpace(input[i])) i++;
      words.push(word);
      word = '';
      pending = false;
    }
  }
  if (pending) words.push(word);
  return words;
}

export function splitArgs(input: string): string[] {
  return parse(input) ?? [];
}

/** Whether shellwords can split the value (balanced quotes, no trailing lone backslash). */
export function isSplittableArgs(input: string): boolean {
  return parse(input) !== undefined;
}

/** The words of a config's `args` for the command line; warns when shellwords yields none. */
export function customArgs(input: string, warnings: string[]): string[] {
  if (input.includes('\0')) throw new CvmError('GENERATE', 'args: contains a NUL byte, which no QEMU argument can carry');
  const words = parse(input);
  if (words === undefined) {
    warnings.push('args: unbalanced quote or trailing backslash - QEMU gets none of these arguments');
    return [];
  }
  return words;
}
