/**
 * @module ui/terminal
 * A small VT100/ANSI terminal for the serial console: the subset that OVMF, GRUB, SeaBIOS and
 * Linux write to a serial port — cursor moves and positioning (CSI A–H, d, f, s/u, ESC 7/8),
 * erase in display and line (J, K, X), insert/delete of characters and lines (@, P, L, M),
 * scroll regions and index (r, S, T, ESC D/M/E), SGR colours (16, 256 and RGB, the last two
 * shown as the nearest of 16), bold/underline/inverse, auto-wrap, the DEC line-drawing set,
 * and a scrollback. The parser is a state machine that keeps its state between chunks, so a
 * sequence split across two WebSocket messages is still one sequence; anything it does not
 * know is consumed, never printed. A device-status request (CSI 6n) is answered through
 * `reply`. Pure: no DOM here; ui/console renders `lines()`.
 */

export const COLS = 80;
/** OVMF's and SeaBIOS's serial text mode is 80x25; positions beyond are clamped. */
export const ROWS = 25;
const SCROLLBACK = 2000;

/** A cell's attributes packed in a number: fg (5 bits, 16 = default), bg (5 bits), bold, underline, inverse. */
const DEFAULT_COLOR = 16;
const DEFAULT_ATTR = DEFAULT_COLOR | (DEFAULT_COLOR << 5);
const BOLD = 1 << 10;
const UNDERLINE = 1 << 11;
const INVERSE = 1 << 12;

export interface Run {
  text: string;
  /** Space-separated class names (fgN, bgN, b, u), '' for default text. */
  cls: string;
}

class Line {
  chars: string[] = [];
  attrs: number[] = [];
}

/** DEC special graphics (ESC ( 0): the box-drawing letters setup screens use. */
const DEC_GRAPHICS: Record<string, string> = {
  j: '┘', k: '┐', l: '┌', m: '└', n: '┼', q: '─', t: '├', u: '┤', v: '┴', w: '┬', x: '│', a: '▒', '`': '◆', '~': '·', o: '⎺', s: '⎽', '0': '█',
};

/** The nearest of the 16 ANSI colours to an RGB value (xterm's palette). */
const PALETTE: [number, number, number][] = [
  [0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
  [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255],
];
function nearest(r: number, g: number, b: number): number {
  let best = 0;
  let bestDist = Infinity;
  PALETTE.forEach(([pr, pg, pb], i) => {
    const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
    if (d < bestDist) [best, bestDist] = [i, d];
  });
  return best;
}
function color256(n: number): number {
  if (n < 16) return n;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return nearest(v, v, v);
  }
  const i = n - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return nearest(level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6));
}

export class Terminal {
  private scrollback: Line[] = [];
  private screen: Line[] = Array.from({ length: ROWS }, () => new Line());
  private row = 0;
  private col = 0;
  /** The cursor stands past the last column: the next printable character wraps first. */
  private wrapPending = false;
  private attr = DEFAULT_ATTR;
  private saved = { row: 0, col: 0, attr: DEFAULT_ATTR };
  private top = 0;
  private bottom = ROWS - 1;
  private autowrap = true;
  private graphics = false;
  private state: 'ground' | 'esc' | 'csi' | 'osc' | 'osc-esc' | 'charset' = 'ground';
  private seq = '';
  private charsetSlot = '';
  /** Bumped on every change: the view re-renders only when it moved. */
  version = 0;
  cursorVisible = true;

  constructor(private readonly reply: (data: string) => void = () => {}) {}

  write(text: string): void {
    for (const ch of text) this.feed(ch);
    this.version++;
  }

  private feed(ch: string): void {
    const code = ch.codePointAt(0) as number;
    switch (this.state) {
      case 'ground':
        if (code === 0x1b) {
          this.state = 'esc';
          this.seq = '';
        } else if (code < 0x20 || code === 0x7f) this.control(code);
        else this.print(ch);
        return;
      case 'esc':
        this.escape(ch);
        return;
      case 'csi':
        if (code >= 0x40 && code <= 0x7e) {
          this.state = 'ground';
          this.csi(this.seq, ch);
        } else if (code === 0x1b) this.state = 'esc';
        else if (code < 0x20) this.control(code);
        else if (this.seq.length < 64) this.seq += ch;
        return;
      case 'osc':
        // an operating-system command (window title …) ends with BEL or ESC \; nothing to show
        if (code === 0x07) this.state = 'ground';
        else if (code === 0x1b) this.state = 'osc-esc';
        return;
      case 'osc-esc':
        this.state = ch === '\\' ? 'ground' : 'osc';
        return;
      case 'charset':
        if (this.charsetSlot === '(') this.graphics = ch === '0';
        this.state = 'ground';
        return;
    }
  }

  private control(code: number): void {
    switch (code) {
      case 0x08: // BS
        this.col = Math.max(0, Math.min(this.col, COLS - 1) - 1);
        this.wrapPending = false;
        break;
      case 0x09: // TAB
        this.col = Math.min(COLS - 1, (Math.floor(this.col / 8) + 1) * 8);
        break;
      case 0x0a:
      case 0x0b:
      case 0x0c:
        this.lineFeed();
        break;
      case 0x0d:
        this.col = 0;
        this.wrapPending = false;
        break;
      case 0x0e: // SO: G1 (line drawing where set) — rarely used over serial; treated as G0
      case 0x0f:
        break;
    }
  }

  private escape(ch: string): void {
    this.state = 'ground';
    switch (ch) {
      case '[':
        this.state = 'csi';
        this.seq = '';
        return;
      case ']':
        this.state = 'osc';
        return;
      case '(':
      case ')':
      case '*':
      case '+':
        this.state = 'charset';
        this.charsetSlot = ch;
        return;
      case '7':
        this.saved = { row: this.row, col: this.col, attr: this.attr };
        return;
      case '8':
        ({ row: this.row, col: this.col, attr: this.attr } = this.saved);
        this.wrapPending = false;
        return;
      case 'D':
        this.lineFeed();
        return;
      case 'E':
        this.col = 0;
        this.lineFeed();
        return;
      case 'M':
        if (this.row === this.top) this.scrollDown(1);
        else this.row = Math.max(0, this.row - 1);
        return;
      case 'c':
        this.reset();
        return;
      case '\x1b':
        this.state = 'esc';
        return;
    }
    // other two-character sequences (ESC =, ESC >, …): keypad modes and the like, no effect on text
  }

  private reset(): void {
    this.pushScreenToScrollback();
    this.screen = Array.from({ length: ROWS }, () => new Line());
    this.row = this.col = 0;
    this.attr = DEFAULT_ATTR;
    this.top = 0;
    this.bottom = ROWS - 1;
    this.autowrap = true;
    this.graphics = false;
    this.wrapPending = false;
    this.cursorVisible = true;
  }

  private csi(seq: string, final: string): void {
    const priv = /^[?=>]/.test(seq) ? (seq[0] as string) : '';
    const params = (priv ? seq.slice(1) : seq)
      .replace(/[ -/]+$/, '') // intermediate bytes
      .split(';')
      .map((p) => (p === '' ? Number.NaN : Number.parseInt(p, 10)));
    const n = (i: number, dflt = 1) => {
      const v = params[i];
      return v === undefined || Number.isNaN(v) || v === 0 ? dflt : v;
    };
    if (priv === '?' && (final === 'h' || final === 'l')) {
      for (const p of params) {
        if (p === 25) this.cursorVisible = final === 'h';
        if (p === 7) this.autowrap = final === 'h';
      }
      return;
    }
    if (priv) return; // ESC[=3h (a screen mode), ESC[>c …: nothing to draw
    this.wrapPending = false;
    switch (final) {
      case 'A':
        this.row = Math.max(this.row >= this.top ? this.top : 0, this.row - n(0));
        break;
      case 'B':
      case 'e':
        this.row = Math.min(this.row <= this.bottom ? this.bottom : ROWS - 1, this.row + n(0));
        break;
      case 'C':
      case 'a':
        this.col = Math.min(COLS - 1, this.col + n(0));
        break;
      case 'D':
        this.col = Math.max(0, Math.min(this.col, COLS - 1) - n(0));
        break;
      case 'E':
        this.row = Math.min(ROWS - 1, this.row + n(0));
        this.col = 0;
        break;
      case 'F':
        this.row = Math.max(0, this.row - n(0));
        this.col = 0;
        break;
      case 'G':
      case '`':
        this.col = Math.min(COLS, n(0)) - 1;
        break;
      case 'd':
        this.row = Math.min(ROWS, n(0)) - 1;
        break;
      case 'H':
      case 'f':
        this.row = Math.min(ROWS, n(0)) - 1;
        this.col = Math.min(COLS, n(1)) - 1;
        break;
      case 'J':
        this.eraseDisplay(params[0] || 0);
        break;
      case 'K':
        this.eraseLine(params[0] || 0);
        break;
      case 'X':
        this.fill(this.row, this.col, Math.min(COLS, this.col + n(0)));
        break;
      case '@':
        this.shiftChars(n(0));
        break;
      case 'P':
        this.shiftChars(-n(0));
        break;
      case 'L':
        if (this.row >= this.top && this.row <= this.bottom) this.scrollRegion(this.row, this.bottom, -n(0));
        break;
      case 'M':
        if (this.row >= this.top && this.row <= this.bottom) this.scrollRegion(this.row, this.bottom, n(0));
        break;
      case 'S':
        this.scrollUp(n(0));
        break;
      case 'T':
        this.scrollDown(n(0));
        break;
      case 'r':
        this.top = Math.min(ROWS, n(0)) - 1;
        this.bottom = Math.min(ROWS, n(1, ROWS)) - 1;
        if (this.top >= this.bottom) [this.top, this.bottom] = [0, ROWS - 1];
        this.row = this.col = 0;
        break;
      case 's':
        this.saved = { row: this.row, col: this.col, attr: this.attr };
        break;
      case 'u':
        ({ row: this.row, col: this.col } = this.saved);
        break;
      case 'm':
        this.sgr(params);
        break;
      case 'n':
        if (params[0] === 6) this.reply(`\x1b[${this.row + 1};${Math.min(this.col, COLS - 1) + 1}R`);
        else if (params[0] === 5) this.reply('\x1b[0n');
        break;
    }
  }

  private sgr(params: number[]): void {
    for (let i = 0; i < params.length; i++) {
      const p = Number.isNaN(params[i] as number) ? 0 : (params[i] as number);
      const fg = (c: number) => {
        this.attr = (this.attr & ~0x1f) | c;
      };
      const bg = (c: number) => {
        this.attr = (this.attr & ~(0x1f << 5)) | (c << 5);
      };
      if (p === 0) this.attr = DEFAULT_ATTR;
      else if (p === 1) this.attr |= BOLD;
      else if (p === 4) this.attr |= UNDERLINE;
      else if (p === 7) this.attr |= INVERSE;
      else if (p === 22) this.attr &= ~BOLD;
      else if (p === 24) this.attr &= ~UNDERLINE;
      else if (p === 27) this.attr &= ~INVERSE;
      else if (p >= 30 && p <= 37) fg(p - 30);
      else if (p === 39) fg(DEFAULT_COLOR);
      else if (p >= 40 && p <= 47) bg(p - 40);
      else if (p === 49) bg(DEFAULT_COLOR);
      else if (p >= 90 && p <= 97) fg(p - 90 + 8);
      else if (p >= 100 && p <= 107) bg(p - 100 + 8);
      else if (p === 38 || p === 48) {
        const set = p === 38 ? fg : bg;
        if (params[i + 1] === 5) {
          set(color256((params[i + 2] ?? 0) & 255));
          i += 2;
        } else if (params[i + 1] === 2) {
          set(nearest(params[i + 2] ?? 0, params[i + 3] ?? 0, params[i + 4] ?? 0));
          i += 4;
        }
      }
    }
  }

  private print(ch: string): void {
    if (this.wrapPending) {
      this.col = 0;
      this.lineFeed();
      this.wrapPending = false;
    }
    const line = this.screen[this.row] as Line;
    while (line.chars.length < this.col) {
      line.chars.push(' ');
      line.attrs.push(DEFAULT_ATTR);
    }
    line.chars[this.col] = this.graphics ? (DEC_GRAPHICS[ch] ?? ch) : ch;
    line.attrs[this.col] = this.attr;
    if (this.col === COLS - 1) this.wrapPending = this.autowrap;
    else this.col++;
  }

  private lineFeed(): void {
    this.wrapPending = false;
    if (this.row === this.bottom) this.scrollUp(1);
    else if (this.row < ROWS - 1) this.row++;
  }

  /** Lines leave the region at its top; from a region at the screen's top they go to the scrollback. */
  private scrollUp(count: number): void {
    for (let i = 0; i < count; i++) {
      const [gone] = this.screen.splice(this.top, 1);
      if (this.top === 0 && gone) this.keep(gone);
      this.screen.splice(this.bottom, 0, new Line());
    }
  }

  private scrollDown(count: number): void {
    this.scrollRegion(this.top, this.bottom, -count);
  }

  /** Moves rows first..last up by `count` (down when negative), filling with blank lines. */
  private scrollRegion(first: number, last: number, count: number): void {
    const k = Math.min(Math.abs(count), last - first + 1);
    for (let i = 0; i < k; i++) {
      if (count > 0) {
        this.screen.splice(first, 1);
        this.screen.splice(last, 0, new Line());
      } else {
        this.screen.splice(last, 1);
        this.screen.splice(first, 0, new Line());
      }
    }
  }

  private keep(line: Line): void {
    this.scrollback.push(line);
    if (this.scrollback.length > SCROLLBACK) this.scrollback.splice(0, this.scrollback.length - SCROLLBACK);
  }

  /** A clear screen keeps what was on it in the scrollback (a boot log stays readable), as VTE does. */
  private pushScreenToScrollback(): void {
    let last = this.screen.length - 1;
    while (last >= 0 && (this.screen[last] as Line).chars.every((c) => c === ' ')) last--;
    for (let i = 0; i <= last; i++) this.keep(this.screen[i] as Line);
  }

  private eraseDisplay(mode: number): void {
    if (mode === 2 || mode === 3) {
      this.pushScreenToScrollback();
      this.screen = Array.from({ length: ROWS }, () => new Line());
      return;
    }
    if (mode === 0) {
      this.eraseLine(0);
      for (let r = this.row + 1; r < ROWS; r++) this.screen[r] = new Line();
    } else if (mode === 1) {
      this.eraseLine(1);
      for (let r = 0; r < this.row; r++) this.screen[r] = new Line();
    }
  }

  private eraseLine(mode: number): void {
    const col = Math.min(this.col, COLS - 1);
    if (mode === 0) this.fill(this.row, col, COLS);
    else if (mode === 1) this.fill(this.row, 0, col + 1);
    else this.fill(this.row, 0, COLS);
  }

  /** Blanks columns from..to-1 with the current background (default attributes otherwise). */
  private fill(row: number, from: number, to: number): void {
    const line = this.screen[row] as Line;
    const attr = this.attr & (0x1f << 5) ? DEFAULT_COLOR | (this.attr & (0x1f << 5)) : DEFAULT_ATTR;
    if (attr === DEFAULT_ATTR && to >= line.chars.length) {
      line.chars.length = Math.min(line.chars.length, from);
      line.attrs.length = line.chars.length;
      return;
    }
    for (let c = from; c < to; c++) {
      line.chars[c] = ' ';
      line.attrs[c] = attr;
    }
    for (let c = 0; c < from; c++) {
      line.chars[c] ??= ' ';
      line.attrs[c] ??= DEFAULT_ATTR;
    }
  }

  /** Inserts (count > 0) or deletes (count < 0) characters at the cursor; the rest of the line shifts. */
  private shiftChars(count: number): void {
    const line = this.screen[this.row] as Line;
    const col = Math.min(this.col, COLS - 1);
    if (col >= line.chars.length) return;
    if (count > 0) {
      line.chars.splice(col, 0, ...Array<string>(count).fill(' '));
      line.attrs.splice(col, 0, ...Array<number>(count).fill(DEFAULT_ATTR));
      line.chars.length = Math.min(line.chars.length, COLS);
      line.attrs.length = line.chars.length;
    } else {
      line.chars.splice(col, -count);
      line.attrs.splice(col, -count);
    }
  }

  /** Where the cursor is, counted in `lines()`'s rows. */
  cursor(): { line: number; col: number } {
    return { line: this.scrollback.length + this.row, col: Math.min(this.col, COLS - 1) };
  }

  /**
   * Scrollback and screen as runs of equally styled text, one array per line; blank lines
   * below both the cursor and the last written line are left out.
   */
  lines(): Run[][] {
    let last = ROWS - 1;
    while (last > this.row && (this.screen[last] as Line).chars.length === 0) last--;
    return [...this.scrollback, ...this.screen.slice(0, last + 1)].map(runsOf);
  }

  /** The text as plain lines (trailing blanks trimmed), for tests and copying. */
  text(): string {
    return this.lines()
      .map((runs) => runs.map((r) => r.text).join('').trimEnd())
      .join('\n');
  }
}

function classOf(attr: number): string {
  let fg = attr & 0x1f;
  let bg = (attr >> 5) & 0x1f;
  // bold draws the normal colours in their bright variant, as the Linux console and xterm do
  if (attr & BOLD && fg < 8) fg += 8;
  if (attr & INVERSE) [fg, bg] = [bg === DEFAULT_COLOR ? 17 : bg, fg === DEFAULT_COLOR ? 17 : fg];
  const out: string[] = [];
  // 17: the default colour of the other layer (inverse video of default text)
  if (fg !== DEFAULT_COLOR) out.push(fg === 17 ? 'fgd' : `fg${fg}`);
  if (bg !== DEFAULT_COLOR) out.push(bg === 17 ? 'bgd' : `bg${bg}`);
  if (attr & BOLD) out.push('b');
  if (attr & UNDERLINE) out.push('u');
  return out.join(' ');
}

function runsOf(line: Line): Run[] {
  const runs: Run[] = [];
  for (let i = 0; i < line.chars.length; i++) {
    const cls = classOf(line.attrs[i] ?? DEFAULT_ATTR);
    const last = runs[runs.length - 1];
    if (last && last.cls === cls) last.text += line.chars[i] ?? ' ';
    else runs.push({ text: line.chars[i] ?? ' ', cls });
  }
  return runs;
}
