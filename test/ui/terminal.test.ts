/**
 * @module test/ui/terminal
 * The serial console's VT100 subset (ui/src/terminal) on real captured output — OVMF booting
 * into the UEFI shell under TCG (clear screen, cursor positioning, a countdown rewritten in
 * place, bold yellow text, the shell echoing typed keys) and SeaBIOS — and on sequences as
 * the VT100/ECMA-48 texts define them; the same screen whatever the chunking of the stream
 * (property test), and random bytes never break it (fuzz).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test as ftest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { COLS, ROWS, Terminal } from '../../ui/src/terminal.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'console');
const capture = (name: string) => readFileSync(join(FIXTURES, name), 'latin1');
const run = (text: string) => {
  const t = new Terminal();
  t.write(text);
  return t;
};
/** The runs of the line holding `text`, as [text, classes] pairs. */
const styled = (t: Terminal, text: string) =>
  (t.lines().find((runs) => runs.map((r) => r.text).join('').includes(text)) ?? []).map((r) => [r.text.trimEnd(), r.cls]);

describe('OVMF booting into the UEFI shell (captured from a TCG VM)', () => {
  const t = run(capture('ovmf-shell.raw'));
  const lines = t.text().split('\n');

  test('the countdown is rewritten in place: one line, the last count', () => {
    const countdown = lines.filter((l) => l.includes('to skip startup.nsh'));
    expect(countdown).toEqual(['Press ESC in 1 seconds to skip startup.nsh or any other key to continue.']);
  });

  test('no control sequence leaks into the text', () => {
    expect(t.text()).not.toMatch(/\x1b|\[\d+;\d+H|\[2J|\[=3h|\[\d*m/);
  });

  test('the screen clears keep the boot lines in the scrollback, in order', () => {
    const boot = lines.findIndex((l) => l.startsWith('BdsDxe: loading Boot0001 "EFI Internal Shell"'));
    const shell = lines.findIndex((l) => l === 'UEFI Interactive Shell v2.2');
    expect(boot).toBeGreaterThanOrEqual(0);
    expect(shell).toBeGreaterThan(boot);
  });

  test('typed keys echoed by cursor positioning make one command line; its output below; a new prompt', () => {
    const at = lines.lastIndexOf('Shell> ver');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 4)).toEqual(['UEFI Interactive Shell v2.2', 'EDK II', 'UEFI v2.70 (EDK II, 0x00010000)']);
    expect(lines[lines.length - 1]).toBe('Shell>');
    // the cursor waits after the prompt: column 7 of the last line
    expect(t.cursor()).toEqual({ line: lines.length - 1, col: 7 });
  });

  test('bold yellow (ESC[1m ESC[33m) is drawn bright yellow and bold; ESC[0m ESC[37m ESC[40m is grey on black', () => {
    const press = styled(t, 'Press ESC');
    expect(press.slice(0, 4)).toEqual([
      ['Press', 'fg7 bg0'],
      ['ESC', 'fg15 bg0 b'],
      [' in 1 seconds to skip', 'fg7 bg0'],
      ['startup.nsh', 'fg11 bg0 b'],
    ]);
    expect(styled(t, 'Shell> ver')[0]).toEqual(['Shell>', 'fg11 bg0 b']);
  });

  test('ESC[04;01H goes back to row 4: "map: No mapping found." overwrites the "Mapping table" heading there', () => {
    expect(lines.filter((l) => l.includes('Mapping table'))).toEqual([]);
    const header = lines.indexOf('UEFI Interactive Shell v2.2');
    expect(lines[header + 3]).toBe('map: No mapping found.');
  });
});

describe('SeaBIOS (captured from a TCG VM)', () => {
  test('its banner and boot messages as plain lines', () => {
    const text = run(capture('seabios.raw')).text();
    expect(text).toMatch(/^SeaBIOS \(version [^)]+\)$/m);
    expect(text).toMatch(/^Booting from /m);
    expect(text).not.toMatch(/\x1b/);
  });
});

describe('sequences as specified', () => {
  test('CR LF, BS and TAB', () => {
    expect(run('ab\bc\r\nx\ty').text()).toBe('ac\nx       y');
  });

  test('CUP is 1-based, row;col; missing parameters mean 1', () => {
    expect(run('\x1b[2;5Hx\x1b[Hy').text()).toBe('y\n    x');
  });

  test('cursor moves A/B/C/D stop at the screen edges', () => {
    expect(run('\x1b[5;5H\x1b[10Ax\x1b[100Cy').text()).toBe(`    x${' '.repeat(COLS - 6)}y`);
    expect(run('abc\x1b[9Dz').text()).toBe('zbc');
  });

  test('erase in line: 0 to the end, 1 to the start, 2 all', () => {
    expect(run('abcdef\x1b[1;3H\x1b[K').text()).toBe('ab');
    expect(run('abcdef\x1b[1;3H\x1b[1K').text()).toBe('   def');
    expect(run('abcdef\x1b[2K').text()).toBe('');
  });

  test('erase below (J 0) keeps the lines above', () => {
    expect(run('one\r\ntwo\r\nthree\x1b[2;2H\x1b[J').text()).toBe('one\nt');
  });

  test('a line of exactly 80 characters does not wrap until the next character', () => {
    const full = 'x'.repeat(COLS);
    expect(run(full).text()).toBe(full);
    expect(run(`${full}\r\nnext`).text()).toBe(`${full}\nnext`);
    expect(run(`${full}y`).text()).toBe(`${full}\ny`);
  });

  test('auto-wrap off (CSI ?7l): the last column is overwritten', () => {
    expect(run(`\x1b[?7l${'x'.repeat(COLS)}yz`).text()).toBe(`${'x'.repeat(COLS - 1)}z`);
  });

  test('output past the last row scrolls into the scrollback', () => {
    const t = run(Array.from({ length: ROWS + 5 }, (_, i) => `line ${i}`).join('\r\n'));
    const lines = t.text().split('\n');
    expect(lines).toHaveLength(ROWS + 5);
    expect(lines[0]).toBe('line 0');
    expect(lines.at(-1)).toBe(`line ${ROWS + 4}`);
  });

  test('a scroll region (DECSTBM) scrolls only its rows; lines leaving it are not kept', () => {
    const t = run('\x1b[1;1Htop\x1b[2;3r\x1b[2;1Ha\r\nb\r\nc\x1b[4;1Hbottom');
    expect(t.text().split('\n').slice(0, 4)).toEqual(['top', 'b', 'c', 'bottom']);
  });

  test('insert and delete characters (@, P) and lines (L, M)', () => {
    expect(run('abcd\x1b[1;2H\x1b[2@').text()).toBe('a  bcd');
    expect(run('abcd\x1b[1;2H\x1b[2P').text()).toBe('ad');
    expect(run('1\r\n2\r\n3\x1b[2;1H\x1b[L').text()).toBe('1\n\n2\n3');
    expect(run('1\r\n2\r\n3\x1b[1;1H\x1b[M').text()).toBe('2\n3');
  });

  test('save and restore the cursor (ESC 7 / ESC 8 and CSI s / u)', () => {
    expect(run('ab\x1b7\x1b[5;5Hx\x1b8c').text()).toBe('abc\n\n\n\n    x');
    expect(run('ab\x1b[s\x1b[3;1Hx\x1b[uc').text()).toBe('abc\n\nx');
  });

  test('SGR: 16 colours, bright, background, inverse, reset; 256 and RGB to the nearest of 16', () => {
    const t = run('\x1b[31mr\x1b[92mg\x1b[44mb\x1b[0m\x1b[7mi\x1b[0m\x1b[38;5;196mx\x1b[38;2;0;0;0my\x1b[4mu\x1b[m.');
    expect(t.lines()[0]).toEqual([
      { text: 'r', cls: 'fg1' },
      { text: 'g', cls: 'fg10' },
      { text: 'b', cls: 'fg10 bg4' },
      { text: 'i', cls: 'fgd bgd' },
      { text: 'x', cls: 'fg9' },
      { text: 'y', cls: 'fg0' },
      { text: 'u', cls: 'fg0 u' },
      { text: '.', cls: '' },
    ]);
  });

  test('the DEC line-drawing set (ESC ( 0) draws boxes; ESC ( B returns to ASCII', () => {
    expect(run('\x1b(0lqk\x1b(Bq').text()).toBe('┌─┐q');
  });

  test('OSC (window title) and private modes are consumed, not printed', () => {
    expect(run('\x1b]0;title\x07a\x1b]2;t\x1b\\b\x1b[=3hc\x1b[?25ld').text()).toBe('abcd');
  });

  test('CSI 6n is answered with the cursor position', () => {
    const replies: string[] = [];
    const t = new Terminal((d) => replies.push(d));
    t.write('\x1b[3;7H\x1b[6n');
    expect(replies).toEqual(['\x1b[3;7R']);
  });

  test('ESC c resets: attributes and cursor home, the old screen kept in the scrollback', () => {
    const t = run('\x1b[31mold\x1bcnew');
    expect(t.text()).toBe('old\nnew');
    expect(t.lines()[1]).toEqual([{ text: 'new', cls: '' }]);
  });
});

describe('robustness', () => {
  ftest.prop([fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 })])('the OVMF capture gives the same screen however it is chunked', (cuts) => {
    const data = capture('ovmf-shell.raw');
    const whole = run(data);
    const t = new Terminal();
    let at = 0;
    for (const n of cuts) {
      t.write(data.slice(at, at + n));
      at += n;
    }
    t.write(data.slice(at));
    expect(t.lines()).toEqual(whole.lines());
    expect(t.cursor()).toEqual(whole.cursor());
  });

  ftest.prop([fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: fc.constantFrom('\x1b', '[', ';', '?', '1', '9', 'H', 'J', 'K', 'm', 'r', 'L', 'M', '@', 'P', '\n', '\r', 'x'), maxLength: 300 })])(
    'random bytes and sequence soup: no exception, lines never wider than the screen, the cursor on screen',
    (noise, soup) => {
      const t = new Terminal();
      t.write(noise);
      t.write(soup);
      const lines = t.lines();
      for (const runs of lines) expect(runs.reduce((n, r) => n + r.text.length, 0)).toBeLessThanOrEqual(COLS);
      const c = t.cursor();
      expect(c.col).toBeGreaterThanOrEqual(0);
      expect(c.col).toBeLessThan(COLS);
      expect(c.line).toBeGreaterThanOrEqual(0);
    },
  );
});
