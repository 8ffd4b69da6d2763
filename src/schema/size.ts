/**
 * @module schema/size
 * Disk-size strings (PVE::JSONSchema::parse_size / format_size): `32G`, `128K`, `1.5GiB` ↔ bytes.
 * print_property_string renders keys with `format => 'disk-size'` through format_size, so the
 * printer needs these; the drive code uses them as well.
 */

const SIZE_RE = /^(\d+(?:\.\d+)?)([KMGT](?:iB)?)?\n?$/;
const UNIT_SHIFT: Record<string, number> = { K: 1, M: 2, G: 3, T: 4 };

/** Whether parseSize accepts the text (without computing the size). */
export function isSize(text: string): boolean {
  return SIZE_RE.test(text);
}

/** Bytes for a size string, or undefined if it is not one (PVE returns undef). Truncates like `int`. */
export function parseSize(text: string): number | undefined {
  const match = SIZE_RE.exec(text);
  if (!match) return undefined;
  let size = Number(match[1]);
  const unit = match[2];
  if (unit !== undefined) size *= 1024 ** (UNIT_SHIFT[unit.charAt(0)] ?? 0);
  return Math.trunc(size);
}

/** The shortest exact K/M/G/T spelling of a byte count (format_size); plain bytes otherwise. */
export function formatSize(bytes: number): string {
  const size = Math.trunc(bytes);
  const kb = Math.trunc(size / 1024);
  if (kb * 1024 !== size) return String(size);
  const mb = Math.trunc(kb / 1024);
  if (mb * 1024 !== kb) return `${kb}K`;
  const gb = Math.trunc(mb / 1024);
  if (gb * 1024 !== mb) return `${mb}M`;
  const tb = Math.trunc(gb / 1024);
  if (tb * 1024 !== gb) return `${gb}G`;
  return `${tb}T`;
}
