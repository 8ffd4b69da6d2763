/**
 * @module config/file/encode
 * The comment escaping of qemu-server config files (pve-common `encode_text` /
 * `decode_text`). A VM description is stored as `#` comment lines; every byte of its UTF-8
 * form outside 0x20–0x24, 0x26–0x39 and 0x3B–0x7E (controls, high bytes, `%` and `:`) is
 * written as `%XX` with upper-case hex, and reading reverses it. Decoding is lenient like
 * Perl's `Encode::decode('utf8', …)`: malformed byte sequences become U+FFFD.
 */

const UPPER_HEX = '0123456789ABCDEF';
/** Characters that never need escaping: the safe set of encode_text. */
const ALL_SAFE = /^[\x20-\x24\x26-\x39\x3b-\x7e]*$/;
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false });

function isSafeByte(b: number): boolean {
  return (b >= 0x20 && b <= 0x24) || (b >= 0x26 && b <= 0x39) || (b >= 0x3b && b <= 0x7e);
}

/** encode_text: UTF-8 encode, then percent-escape every unsafe byte. */
export function encodeText(text: string): string {
  if (ALL_SAFE.test(text)) return text;
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (isSafeByte(b)) out += String.fromCharCode(b);
    else out += `%${UPPER_HEX[b >> 4]}${UPPER_HEX[b & 15]}`;
  }
  return out;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * decode_text: percent-unescape (`%XX`, either hex case; a `%` not followed by two hex
 * digits stays literal, like URI::Escape), then decode the bytes as UTF-8.
 */
export function decodeText(data: string): string {
  if (!data.includes('%')) return data;
  const input = Buffer.from(data, 'utf8');
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i] as number;
    if (b === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1] ?? -1);
      const lo = hexValue(input[i + 2] ?? -1);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = b;
  }
  return lenientUtf8.decode(out.subarray(0, n));
}
