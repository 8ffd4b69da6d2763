/**
 * @module schema/perl-regex
 * Translate the Perl regular expressions that schemas carry in `pattern` into equivalent
 * JavaScript source. qemu-server's patterns use a few constructs JavaScript lacks or reads
 * differently: atomic groups `(?>…)` (the CPU flag pattern), `{,n}` quantifiers (Perl ≥ 5.34,
 * the SMBIOS fields), `$` matching before a final newline, `.` and `\s` with byte-string meaning,
 * `\A` `\z` `\Z`. Everything else is passed through unchanged.
 */

const PERL_SPACE_CLASS = '\\t\\n\\x0B\\f\\r ';

/** JavaScript source for a Perl pattern (no flags, no /m, /s or /x). */
export function perlRegexToJs(pattern: string): string {
  let out = '';
  let atomicCount = 0;
  const atomicStack: (string | undefined)[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern.charAt(i);
    if (ch === '\\') {
      const next = pattern.charAt(i + 1);
      if (next === 'A') out += '^';
      else if (next === 'z') out += '$';
      else if (next === 'Z') out += '(?=\\n?$)';
      else if (next === 's') out += `[${PERL_SPACE_CLASS}]`;
      else if (next === 'S') out += `[^${PERL_SPACE_CLASS}]`;
      else out += ch + next;
      i += 2;
      continue;
    }
    if (ch === '[') {
      const end = classEnd(pattern, i);
      out += translateClass(pattern.slice(i, end));
      i = end;
      continue;
    }
    if (ch === '(') {
      if (pattern.startsWith('(?>', i)) {
        const name = `atomic${atomicCount++}`;
        atomicStack.push(name);
        out += `(?:(?=(?<${name}>`;
        i += 3;
        continue;
      }
      if (pattern.startsWith('(?^:', i)) {
        atomicStack.push(undefined);
        out += '(?:';
        i += 4;
        continue;
      }
      atomicStack.push(undefined);
      out += ch;
      i += 1;
      continue;
    }
    if (ch === ')') {
      const atomic = atomicStack.pop();
      out += atomic === undefined ? ')' : `))\\k<${atomic}>)`;
      i += 1;
      continue;
    }
    if (ch === '{' && pattern.charAt(i + 1) === ',') {
      const match = /^\{,(\d+)\}/.exec(pattern.slice(i));
      if (match) {
        out += `{0,${match[1]}}`;
        i += match[0].length;
        continue;
      }
    }
    if (ch === '$') out += '(?=\\n?$)';
    else if (ch === '.') out += '[^\\n]';
    else out += ch;
    i += 1;
  }
  return out;
}

/** Index just past the character class starting at `start` (`[` … `]`, `]` first is literal). */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern.charAt(i) === '^') i++;
  if (pattern.charAt(i) === ']') i++;
  while (i < pattern.length && pattern.charAt(i) !== ']') {
    i += pattern.charAt(i) === '\\' ? 2 : 1;
  }
  return Math.min(i + 1, pattern.length);
}

function translateClass(cls: string): string {
  let out = '';
  for (let i = 0; i < cls.length; i++) {
    const ch = cls.charAt(i);
    if (ch === '\\' && cls.charAt(i + 1) === 's') {
      out += PERL_SPACE_CLASS;
      i++;
    } else if (ch === '\\') {
      out += ch + cls.charAt(i + 1);
      i++;
    } else if (ch === ']' && i > 0 && i < cls.length - 1) {
      // a leading literal ']' (PVE never uses one, but JavaScript needs it escaped)
      out += '\\]';
    } else {
      out += ch;
    }
  }
  return out;
}
