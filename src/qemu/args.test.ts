import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { commandLines, renderCommand, renderPretty, shellQuote } from './args.js';

describe('shellQuote (String::ShellQuote 1.04 rules, qemu-server spec §7.2)', () => {
  it('leaves safe arguments bare', () => {
    for (const arg of [
      '-pidfile',
      '/var/run/qemu-server/8006.pid',
      'kvm64,enforce,+kvm_pv_eoi,+sep',
      '512',
      '-snapshot',
      'vm8006',
      'a^b@c%d!e',
    ]) {
      expect(shellQuote(arg)).toBe(arg);
    }
  });
  it('quotes anything with = even when otherwise safe', () => {
    expect(shellQuote('1,sockets=1,cores=1,maxcpus=1')).toBe("'1,sockets=1,cores=1,maxcpus=1'");
    expect(shellQuote('type=pc+pve0')).toBe("'type=pc+pve0'");
  });
  it('quotes JSON and spaces', () => {
    expect(shellQuote('{"id":"tdx0","qom-type":"tdx-guest"}')).toBe(`'{"id":"tdx0","qom-type":"tdx-guest"}'`);
    expect(shellQuote('a b')).toBe("'a b'");
  });
  it('renders the empty argument as two quotes', () => {
    expect(shellQuote('')).toBe("''");
  });
  it('escapes single quotes and trims empty edge quotes', () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("'lead")).toBe("\\''lead'");
    expect(shellQuote("trail'")).toBe("'trail'\\'");
    expect(shellQuote("''")).toBe(`"''"`);
    expect(shellQuote("a'''b")).toBe(`'a'"'''"'b'`);
  });
  it('round-trips through a POSIX shell for any string', async () => {
    const { execFileSync } = await import('node:child_process');
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const clean = s.replace(/\0/g, '');
        const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(clean)}`], { encoding: 'utf8' });
        expect(out).toBe(clean);
      }),
      { numRuns: 150 },
    );
  });
});

/** String::ShellQuote 1.04's algorithm step by step, as the reference for the fast paths. */
function shellQuoteReference(arg: string): string {
  const value = arg.replace(/\0/g, '');
  if (value === '') return "''";
  if (/^[A-Za-z0-9_!%+,\-./:=@^]+$/.test(value) && !value.includes('=')) return value;
  let body = value.replace(/'/g, "'\\''");
  body = body.replace(/(?:'\\''){2,}/g, (run) => `'"${"'".repeat(run.length / 4)}"'`);
  return `'${body}'`.replace(/^''/, '').replace(/''$/, '');
}

describe('shellQuote fast paths', () => {
  it('agrees with the step-by-step algorithm for any string', () => {
    const alphabet = fc.constantFrom("'", '=', '\0', ' ', 'a', '-', '"', '$', '\\', ',', 'é');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: alphabet, maxLength: 12 })), (s) => {
        expect(shellQuote(s)).toBe(shellQuoteReference(s));
      }),
      { numRuns: 2000 },
    );
  });
  it('strips NUL before deciding', () => {
    expect(shellQuote('a\0b')).toBe('ab');
    expect(shellQuote('\0')).toBe("''");
  });
});

describe('renderCommand / renderPretty', () => {
  const argv = ['/usr/bin/kvm', '-id', '8006', '-name', 'vm8006', '-smp', '1,sockets=1,cores=1,maxcpus=1', '-nodefaults'];
  it('joins quoted arguments with single spaces', () => {
    expect(renderCommand(argv)).toBe("/usr/bin/kvm -id 8006 -name vm8006 -smp '1,sockets=1,cores=1,maxcpus=1' -nodefaults");
  });
  it('breaks before every " -" and appends a newline', () => {
    expect(renderPretty(argv)).toBe(
      "/usr/bin/kvm \\\n  -id 8006 \\\n  -name vm8006 \\\n  -smp '1,sockets=1,cores=1,maxcpus=1' \\\n  -nodefaults\n",
    );
  });
  it('compares like the cfg2cmd harness, ignoring break whitespace', () => {
    expect(commandLines(renderPretty(argv))).toEqual(
      commandLines("/usr/bin/kvm \\\n -id 8006 \\\n-name vm8006 \\\n  -smp '1,sockets=1,cores=1,maxcpus=1' \\\n  -nodefaults\n"),
    );
  });
});
