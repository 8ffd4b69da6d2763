/**
 * @module qemu/cfg2cmd/split-args
 * Custom `args` are split like Perl's Text::ParseWords::shellwords (PVE::Tools::split_args):
 * whitespace separates words, single quotes are literal, double quotes allow backslash
 * escapes, a backslash outside quotes escapes the next character; quotes are removed.
 */

export function splitArgs(input: string): string[] {
  const words: string[] = [];
  let i = 0;
  const s = input.replace(/^\s+/, '');
  let current = '';
  let inWord = false;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      if (inWord) {
        words.push(current);
        current = '';
        inWord = false;
      }
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return words; // unbalanced quote: shellwords returns nothing useful
      current += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        current += s[i];
        i++;
      }
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      current += s[i + 1];
      i += 2;
    } else {
      current += c;
      i++;
    }
  }
  if (inWord) words.push(current);
  return words;
}
