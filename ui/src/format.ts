/**
 * @module ui/format
 * How numbers read in the UI: sizes in binary units, uptimes as d/h/m/s, CVM type names as the
 * badges show them.
 */

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function duration(seconds: number): string {
  if (!seconds) return '-';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

const TYPE_NAMES: Record<string, string> = { std: 'SEV', es: 'SEV-ES', snp: 'SEV-SNP', tdx: 'TDX', invalid: 'invalid' };

export function cvmTypeName(type: string | null | undefined): string {
  return type ? (TYPE_NAMES[type] ?? type) : 'none';
}
